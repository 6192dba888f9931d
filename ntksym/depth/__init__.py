"""The depth analysis of a derivation: fixed points, order and chaos, the edge of chaos, the NTK at depth.

  block.py           which repeated block is analysed (dense + activation, or a composed block)
  fixed_points.py    dense + activation blocks: length and correlation maps on the activation's dual
  composite.py       composed blocks (layer_norm, residual, conv): the layers' mean-field maps (maps.py) composed
  mean_field.py      chi_1, chi_c, depth scales (Poole et al. 2016; Schoenholz et al. 2017)
  ntk.py             the NTK's freeze and chaos with depth (Jacot et al. 2019)
  symbolic_forms.py  the closed forms SymPy finds for q*, chi_1 and the edge of chaos
  numeric_dual.py    an activation's dual by Gauss-Hermite quadrature (gauss_quadrature.py) where no closed form is known
  results.py         FixedPoints, EdgeOfChaos and their JSON form
"""

import numpy as np


def value_and_grad(x, y):
    """r = sqrt(x*x + y*y)
    c = x/r
    s = y/r
    r, c, s

    Returns the outputs (r, c, s) and the Jacobian, row by row (d<output>_d<input>: 6 entries)."""
    # forward
    t1 = x*x + y*y
    r = np.sqrt(t1)
    c = x/r
    s = y/r
    # local derivatives of the forward lines, shared below
    dr_dt1 = 1.0/(2*r)                    # sqrt: 1/(2*y)
    # forward mode: d/dx of every line that depends on x
    dt1_dx = x + x                        # sum rule
    dr_dx = dr_dt1*dt1_dx                 # chain rule, sqrt: 1/(2*y)
    dc_dx = 1.0/r - c/r*dr_dx             # quotient rule
    ds_dx = -s/r*dr_dx                    # quotient rule
    # forward mode: d/dy of every line that depends on y
    dt1_dy = y + y                        # sum rule
    dr_dy = dr_dt1*dt1_dy                 # chain rule, sqrt: 1/(2*y)
    dc_dy = -c/r*dr_dy                    # quotient rule
    ds_dy = 1.0/r - s/r*dr_dy             # quotient rule
    return r, c, s, dr_dx, dr_dy, dc_dx, dc_dy, ds_dx, ds_dy

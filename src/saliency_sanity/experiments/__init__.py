"""Experiments: compute results from data and trained models; write arrays and tables.

The names below are shared by the experiments and the figures that draw them; they live here,
outside the experiment modules, so that a figure job imports neither torch nor an experiment.
"""

#: adebayo2018: the two randomisation procedures (Sec. 3)
RANDOMIZATION_ORDERS = ("cascading", "independent")
#: gupta2019: the randomisation runs of Figs. 5, 6, 8-10
GUPTA2019_RUNS = ("layerwise_cgi", "cascading_cgi", "cascading_clrp", "cascading_cdasp")
#: kindermans2017: the input shifts (Sec. 2, Figs. 4 and 5) and the pattern estimators
KINDERMANS2017_SHIFTS = ("constant", "checkerboard", "cat")
PATTERN_ESTIMATORS = ("paper", "covariance", "linear")
#: kindermans2017: the methods whose maps need fitted patterns (one map per estimator)
PATTERN_METHODS = ("pattern_net", "pattern_attribution")
#: kindermans2017: the methods of the invariance claims that need no patterns, figure order
INVARIANCE_METHODS = (
    "gradient",
    "guided_backprop",
    "gradient_input",
    "integrated_gradients_zero",
    "integrated_gradients_black",
    "deep_taylor_zero",
)

"""Experiment protocols the notebooks run, moved out of them so that a page
reads as prose with small cells (the d2l way): one module per experiment.

* :mod:`~cnneff.experiments.table1`  paper 000's Table 1 for one seed: baseline, pruning, slimming,
                                     half resolution, fp16 and the book's int8 row
"""

"""The papers' experiments that put the library to use: downstream prediction tables
(`downstream`: nbody2, lorentz-jets, rotated-digits) and L-conv's digits comparison
(`digits`).

They import the library; the library never imports them (only `symdisco.cli` does), so the
core stays free of experiment code and its training budgets.
"""

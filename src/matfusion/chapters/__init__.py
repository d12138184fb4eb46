"""What the chapters show, as tested library functions: one module per chapter topic.

A chapter loads, calls one function from here and plots; tables, verdicts and the numbers
its prose glues in come from these functions, so they are tested like the rest.
"""

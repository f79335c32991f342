# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab: residual networks and transfer learning
#
# This notebook holds the place of the transfer-learning lab in the generative branch;
# the transfer-learning branch supplies the lab itself and replaces this file.

# %%
import airoad_book

print(airoad_book.__name__)

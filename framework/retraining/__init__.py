"""``bucle retrain``: decide whether to retrain (:mod:`.triggers`), build what the new model
learns from (:mod:`.dataset`), and record why and how each retraining happened (:mod:`.journal`).
"""

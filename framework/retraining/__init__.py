"""``bucle retrain``: decide whether to retrain (:mod:`.triggers`), build what the new model
learns from (:mod:`.dataset`), whether it beats production (:mod:`.promotion`), and record why and
how each retraining happened, once per report (:mod:`.journal`).
"""

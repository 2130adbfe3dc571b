"""The inference service: models loaded by registry alias, request validation, the inference log.

``bucle serve`` builds :func:`framework.serving.app.create_app`. Nothing heavy is imported here,
so ``from framework.serving.inference_log import read_inference_log`` stays cheap for monitors.
"""

"""``bucle release``: rehearse the candidate on a staging server, then let live traffic judge it.

:mod:`~framework.release.policy` reads the ``deploy.release`` thresholds,
:mod:`~framework.release.staging` runs the staging server and its smoke tests,
:mod:`~framework.release.evidence` reads the production server's metrics and judges the
challenger, and :mod:`~framework.release.journal` records every decision with its reason.
"""

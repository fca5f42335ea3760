"""Survey files: declarative definitions and the readers that turn a dropped file into a frame.

This package is the intake layer of the survey_files pipeline (issue #4). Every problem is an
:class:`~diaspora.surveys.readers.IntakeError` with a reason fit for a quarantine report.
"""

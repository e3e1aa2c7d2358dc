"""Worked answers to the exercises at the end of each chapter.

They live apart from the stages: a stage is what a chapter teaches, an answer is one
way a reader may grow it. Each answer is tested in ``tests/chNN/test_exercises.py`` and
shown, collapsed, at the end of its chapter.
"""

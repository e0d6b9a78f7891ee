"""Tools for the course's maintainers and instructors; no lesson imports them.

- ``lessons``: what a lesson notebook holds for grading: its answer, check and context cells.
- ``course``: the course's frame (Colab badges, the setup cell), the student copies, nbgrader
  source folders, README's figures (``make student``, ``make colab``, ``make figures``,
  ``make nbgrader``).
- ``grade``: scoring a folder of submitted notebooks into a CSV and feedback files
  (``make grade``), each submission run by ``sandbox`` in a folder and process of its own.
"""

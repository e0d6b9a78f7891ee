# The course's two commands: `make lab` to learn, `make test` to check everything.
# Plain equivalents (for machines without make) are in README.md.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nbgrader and what it needs: `make test` and the instructors' targets install it, `make lab`
# does not (nbgrader's extensions would change a learner's JupyterLab).
INSTRUCTOR := $(VENV)/.instructor

.PHONY: lab test colab student figures grade nbgrader benchmark clean

# Create the virtual environment once, and reinstall when pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "Python >= 3.10 is needed; set PYTHON=python3.x")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

$(INSTRUCTOR): $(STAMP)
	$(BIN)/python -m pip install -e ".[dev,instructor]"
	touch $(INSTRUCTOR)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# The notebooks run first: they leave the trained models in the cache that the grading tests
# (nbgrader's round trip, the blank student copies) then load instead of training.
test: $(INSTRUCTOR)
	$(BIN)/python -m ruff check cvae_helpers cvae_instructor tests benchmarks notebooks
	$(BIN)/python -m pytest notebooks tests --nbval-lax --nbval-current-env -v

# Point every Colab badge and setup cell at a fork: make colab REPO=owner/name
colab: $(STAMP)
	@test -n "$(REPO)" || (echo "usage: make colab REPO=owner/name" && exit 2)
	$(BIN)/python -m cvae_instructor.course colab $(REPO)

# Refresh the lessons' frames, and write their student copies (solutions removed) into student/
student: $(STAMP)
	$(BIN)/python -m cvae_instructor.course student

# README's course-map pictures, from the executed lessons, into docs/images/
figures: $(STAMP)
	$(BIN)/python -m cvae_instructor.course figures

# Score a folder of submitted notebooks: make grade SUBMISSIONS=folder [OUT=grades.csv]
# (and one feedback file per submission in grades-feedback/)
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || (echo "usage: make grade SUBMISSIONS=folder [OUT=grades.csv]" && exit 2)
	$(BIN)/python -m cvae_instructor.grade "$(SUBMISSIONS)" --out "$(or $(OUT),grades.csv)"

# An nbgrader course folder (source/lesson1..5, nbgrader_config.py): make nbgrader COURSE=folder
nbgrader: $(INSTRUCTOR)
	@test -n "$(COURSE)" || (echo "usage: make nbgrader COURSE=folder" && exit 2)
	$(BIN)/python -m cvae_instructor.course nbgrader "$(COURSE)"

benchmark: $(STAMP)
	$(BIN)/python benchmarks/train_speed.py --json build/speed/cpu.json
	$(BIN)/python benchmarks/quality.py

clean:
	rm -rf $(VENV) build

"""Running the whole pipeline on one machine: local broker, process supervision, progress tracking."""

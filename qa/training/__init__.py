"""Training commands of the project (the top layer): data builders and trainers of the shipped models."""

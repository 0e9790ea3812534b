"""The training loop shared by pre-training, EAM training and fine-tuning."""

from stylemm.trainer.loop import TrainingLoop

__all__ = ["TrainingLoop"]

"""What every codec shares: rebuilding from its config and a readable repr."""

from typing import Any, Dict


class BaseKeypointCodec:
    """Base of kpose's codecs (MMPose's BaseKeypointCodec): keypoints <-> learning targets.

    A codec implements `encode(keypoints (N,K,D), keypoints_visible (N,K)) -> dict`,
    `decode(outputs of one instance)`, `batch_decode(outputs with a leading B axis)` and
    `get_config()` returning its constructor arguments; this base rebuilds it from that
    config and prints it as a constructor call.
    """

    def get_config(self) -> Dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must define get_config()")

    @classmethod
    def from_config(cls, config: Dict[str, Any]):
        """Rebuilds the codec from `get_config()` output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

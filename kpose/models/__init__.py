"""Models: backbones, necks, heads, losses and the estimators that join them.

Importing this package registers every model class with gin and Keras serialization; the
public names of each subpackage are re-exported here.
"""

from kpose.models import backbones, estimators, heads, losses, necks
from kpose.models.backbones import *  # noqa: F401,F403
from kpose.models.estimators import *  # noqa: F401,F403
from kpose.models.heads import *  # noqa: F401,F403
from kpose.models.losses import *  # noqa: F401,F403
from kpose.models.necks import *  # noqa: F401,F403

__all__ = sorted(backbones.__all__ + estimators.__all__ + heads.__all__ + losses.__all__ +
                 necks.__all__)

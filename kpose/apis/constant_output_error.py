"""ConstantOutputError: an exported model that ignores its input."""


class ConstantOutputError(ValueError):
    """An artifact returned the same keypoints and scores for every input.

    The failure mode of a broken export or quantisation (e.g. an int8 model whose
    activations saturate): evaluating it must fail loudly rather than report a low AP.
    """

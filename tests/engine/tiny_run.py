"""Gin bindings that shrink the quick-start recipe to seconds, shared by end-to-end tests."""

QUICKSTART = "gin_configs/quickstart.gin"


def tiny_params(data_root, epochs=2):
    return [
        f"DATA_ROOT = '{data_root}'",
        "ensure_synthetic_coco.num_train_images = 6",
        "ensure_synthetic_coco.num_val_images = 3",
        "ensure_synthetic_coco.image_size = (96, 72)",
        "INPUT_SIZE = (64, 64)",  # ResNet needs multiples of 32
        "HEATMAP_SIZE = (16, 16)",
        "ResNet.stem_channels = 8",
        "ResNet.base_channels = 8",
        "HeatmapHead.deconv_out_channels = (16, 16, 16)",
        f"EPOCHS = {epochs}",
        "BATCH_SIZE = 2",
        "MILESTONES = (1,)",
        "train.val_interval = 1",
        "train.verbose = 0",
        "evaluate.batch_size = 4",
    ]

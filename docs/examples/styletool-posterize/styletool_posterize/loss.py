"""A style loss built on styletool's FeatureLoss: match each channel's mean activation."""

from styletool import FeatureLoss, at_least_fp32


class ChannelMeanLoss(FeatureLoss):
    """Mean squared difference of per-channel means over the spatial dims."""

    role = "style"

    def layer_target(self, features):
        return at_least_fp32(features).mean(dim=(2, 3))

    def layer_loss(self, features, target):
        return (at_least_fp32(features).mean(dim=(2, 3)) - target).square().mean()

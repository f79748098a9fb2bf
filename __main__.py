"""lux-video: the video upload backend. Config -> components -> outputs; nothing else lives here."""

import pulumi

from infra import config, stack

for name, value in stack.build(config.load()).items():
    pulumi.export(name, value)

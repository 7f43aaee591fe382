"""The Qt layer: widgets over the pure core. Only this package (and composer.app) imports Qt."""

"""The Linux_for_Tegra tree: ``release`` (nv_tegra_release), ``paths`` (the one :class:`Lft`
path object the product uses), ``conf`` (conf values the way flash.sh gets them: the one
evaluator) and ``scan`` (where a conf chain assigns what; decides no value). Imports the data
and host layers."""

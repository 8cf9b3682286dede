"""The Linux_for_Tegra tree: its release, the paths the product uses and conf evaluation the
way flash.sh does it. Imports the data and host layers."""

"""One module per thing on the bench (boardctl, RCM on USB, the EEPROM, the default user). Each
driver takes its dependencies (a tree, a command seam, a USB backend) as arguments."""

#!/usr/bin/env python
# -*- coding: utf-8 -*-

import os


def test_composable_command_line_interface():
    os.system('./command_line.sh')

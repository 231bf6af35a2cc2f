#!/usr/bin/env python
# -*- coding: utf-8 -*-

# Using Green Threads
# # import gevent.monkey
# gevent.monkey.patch_all(thread=False)

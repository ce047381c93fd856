"""Typed, declarative arguments shared by layers, losses, optimizers, schedules and sections."""

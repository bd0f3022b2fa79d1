"""Readable default run names, as MLflow gives them ("bright-owl-417")."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "agile amber bold brave bright calm clever crisp daring eager gentle glad grand "
    "happy honest keen lively lucky merry mighty nimble noble polite proud quick quiet "
    "rare silent sleek smart steady sunny swift tidy vivid warm wise witty zesty"
).split()
_NOUNS = (
    "ant bass bat bee boar carp cat colt crab crow deer dove duck eel elk finch fox "
    "frog goat gull hare hawk heron ibis jay koi lark lynx mole moth newt owl ox "
    "panda pike puma ram rook seal shrew slug snail swan toad trout vole wasp wolf yak"
).split()


def generate() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"

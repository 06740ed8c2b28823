"""Seed purposes: every record's reproducibility rests on these numbers staying put."""

from autogan.seeding import SeedPurpose, derived_seed


def test_each_purpose_keeps_its_number_and_no_two_share_one():
    assert {p.name: int(p) for p in SeedPurpose} == {
        "MODEL_INIT": 1, "TRAIN_STREAM": 2, "REWARD": 3, "CONTROLLER": 4, "SAMPLES": 5, "CALIBRATION": 6,
        "RETRAIN_G_INIT": 11, "RETRAIN_D_INIT": 12, "RETRAIN_STREAM": 13, "RETRAIN_EVAL": 14, "RETRAIN_GRID": 15,
    }
    # The enum is only a name for the number: a stream keyed by it is the one keyed by the int.
    assert derived_seed(7, SeedPurpose.REWARD, 2) == derived_seed(7, 3, 2) != derived_seed(7, 4, 2)

"""Production monitoring: logged traffic compared with the training data. Plumbing, rarely edited.

Why a subpackage of the pipeline side: the serving app only *writes* the prediction log
(``prediction_log``, standard library only); reading it back, the statistics (pandas,
scipy) and the HTML report belong with the other offline jobs and stay out of the image.
"""

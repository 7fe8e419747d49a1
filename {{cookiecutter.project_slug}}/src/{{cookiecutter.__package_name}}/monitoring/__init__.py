"""Production monitoring: logged traffic compared with the training data. Plumbing, rarely edited.

Why apart from serving: the app only *writes* the prediction log; reading it back, the
statistics (pandas, scipy) and the HTML report are offline jobs, kept out of the image.
"""

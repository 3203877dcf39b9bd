"""Reference values of the metrics test (tests/metrics.rs), computed once by scikit-learn on
the fixed inputs below. Run: ~/peers/bin/python scripts/metrics_sklearn.py"""
import numpy as np
from sklearn import metrics as m

y_true = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1])
y_score = np.array([0.91, 0.12, 0.64, 0.48, 0.33, 0.71, 0.88, 0.05, 0.57, 0.42,
                    0.26, 0.39, 0.95, 0.61, 0.77, 0.19, 0.52, 0.83, 0.08, 0.69], dtype=np.float32)
w = np.array([1.0, 2.0, 0.5, 1.0, 1.5, 1.0, 3.0, 1.0, 0.25, 1.0,
              2.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0])
y_pred = (y_score > 0.5).astype(int)
print("precision", repr(m.precision_score(y_true, y_pred)))
print("recall", repr(m.recall_score(y_true, y_pred)))
print("f1", repr(m.f1_score(y_true, y_pred)))
print("auc", repr(m.roc_auc_score(y_true, y_score)))
print("precision_w", repr(m.precision_score(y_true, y_pred, sample_weight=w)))
print("recall_w", repr(m.recall_score(y_true, y_pred, sample_weight=w)))
print("f1_w", repr(m.f1_score(y_true, y_pred, sample_weight=w)))
print("auc_w", repr(m.roc_auc_score(y_true, y_score, sample_weight=w)))
print("accuracy_w", repr(m.accuracy_score(y_true, y_pred, sample_weight=w)))

t = np.array([3.0, -0.5, 2.0, 7.0, 4.2, 1.1, 0.0, 5.5, -2.0, 3.3, 6.1, 2.2], dtype=np.float32)
p = np.array([2.5, 0.0, 2.1, 7.8, 3.9, 1.5, -0.4, 5.0, -1.2, 3.0, 6.6, 2.0], dtype=np.float32)
rw = np.array([1, 2, 1, 0.5, 1, 1, 3, 1, 1, 0.5, 1, 2])
print("mae", repr(m.mean_absolute_error(t, p)))
print("mse", repr(m.mean_squared_error(t, p)))
print("rmse", repr(float(np.sqrt(m.mean_squared_error(t, p)))))
print("r2", repr(m.r2_score(t, p)))
print("mae_w", repr(m.mean_absolute_error(t, p, sample_weight=rw)))
print("mse_w", repr(m.mean_squared_error(t, p, sample_weight=rw)))
print("r2_w", repr(m.r2_score(t, p, sample_weight=rw)))
# Two outputs: rows of (t[2i], t[2i+1]).
print("r2_2out", repr(m.r2_score(t.reshape(6, 2), p.reshape(6, 2))))
print("mse_2out", repr(m.mean_squared_error(t.reshape(6, 2), p.reshape(6, 2))))

labels = np.array([0, 2, 1, 3, 2, 0, 1, 1, 3, 2])
scores = np.array([
    [0.5, 0.2, 0.2, 0.1], [0.1, 0.3, 0.4, 0.2], [0.3, 0.25, 0.35, 0.1], [0.4, 0.3, 0.2, 0.1],
    [0.1, 0.6, 0.2, 0.1], [0.2, 0.3, 0.4, 0.1], [0.05, 0.9, 0.03, 0.02], [0.3, 0.2, 0.1, 0.4],
    [0.2, 0.2, 0.25, 0.35], [0.6, 0.1, 0.2, 0.1]], dtype=np.float32)
print("top2", repr(m.top_k_accuracy_score(labels, scores, k=2, labels=[0, 1, 2, 3])))
print("top3", repr(m.top_k_accuracy_score(labels, scores, k=3, labels=[0, 1, 2, 3])))
pred = scores.argmax(axis=1)
print("confusion", m.confusion_matrix(labels, pred, labels=[0, 1, 2, 3]).tolist())
print("precision_per_class", m.precision_score(labels, pred, average=None, zero_division=0).tolist())
print("recall_per_class", m.recall_score(labels, pred, average=None, zero_division=0).tolist())
print("f1_per_class", m.f1_score(labels, pred, average=None, zero_division=0).tolist())
print("f1_macro", repr(m.f1_score(labels, pred, average="macro", zero_division=0)))

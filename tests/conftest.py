import torch

# Tests are deterministic and small: one thread avoids run-to-run differences in reductions
# and oversubscription of CI's two cores.
torch.set_num_threads(1)

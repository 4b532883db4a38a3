# PyTorch reference steps beside `tessera bench train`: LeNet-5 (b32) and ResNet-18-CIFAR (issue 8's
# variant, b8 and b128), Adam 1e-3, random inputs, fp32 without TF32, on CUDA when present, else
# the CPU. Median ms/step of 5 runs of N steps: `python3 tools/torch_steps.py [N]`.
import statistics, sys, time, torch, torch.nn as nn
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True
dev = "cuda" if torch.cuda.is_available() else "cpu"
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20

def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Conv2d(6, 16, 3), nn.MaxPool2d(2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

class Block(nn.Module):
    def __init__(s, cin, cout, stride):
        super().__init__()
        s.a = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.ReLU(),
                            nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout))
        s.short = nn.Conv2d(cin, cout, 1, stride) if stride != 1 else nn.Identity()
    def forward(s, x):
        return torch.relu(s.a(x) + s.short(x))

def resnet18_cifar():
    layers = [nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(2, 1)]
    cin = 64
    for i, c in enumerate([64, 128, 256, 512]):
        for j in range(2):
            layers.append(Block(cin, c, 2 if (i > 0 and j == 0) else 1)); cin = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 100)]
    return nn.Sequential(*layers)

def bench(name, model, shape, classes, batch):
    torch.manual_seed(0)
    m = model().to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.rand(batch, *shape, device=dev); y = torch.arange(batch, device=dev) % classes
    f = nn.CrossEntropyLoss()
    def step():
        opt.zero_grad(set_to_none=True); f(m(x), y).backward(); opt.step()
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    t = time.perf_counter(); step(); sync(); first = (time.perf_counter() - t) * 1e3
    for _ in range(5): step()
    sync(); runs = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps): step()
        sync(); runs.append((time.perf_counter() - t) * 1e3 / reps)
    print(f"torch {torch.__version__} {dev} {name} b{batch}: first {first:.1f} ms, ms/step runs {[round(v, 3) for v in runs]} median {statistics.median(runs):.3f}", flush=True)

bench("lenet5", lenet, (1, 28, 28), 10, 32)
bench("resnet18_cifar", resnet18_cifar, (3, 32, 32), 100, 8)
bench("resnet18_cifar", resnet18_cifar, (3, 32, 32), 100, 128)

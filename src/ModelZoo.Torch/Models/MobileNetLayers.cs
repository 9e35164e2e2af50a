using ModelZoo.Torch.Native;
// Pieces that torchvision's MobileNetV2 and V3 share: _make_divisible (models/_utils.py), Conv2dNormActivation
// (ops/misc.py) and the weight init both model files use.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelZoo.Torch.Models;

internal static class MobileNetLayers
{
    /// <summary>torchvision's <c>_make_divisible</c>: round to a multiple of <paramref name="divisor"/>, never more than 10 % down.</summary>
    public static int MakeDivisible(double v, int divisor, int? minValue = null)
    {
        int min = minValue ?? divisor;
        int newV = Math.Max(min, (int)(v + divisor / 2.0) / divisor * divisor);
        if (newV < 0.9 * v) newV += divisor;
        return newV;
    }

    /// <summary>
    /// Conv2dNormActivation: keys <c>.0</c> (conv, no bias), <c>.1</c> (BatchNorm), <c>.2</c> (activation, when given);
    /// padding <c>(k - 1) / 2</c>.
    /// </summary>
    public static Sequential ConvNormAct(long inChannels, long outChannels, long kernel, long stride = 1, long groups = 1,
        Func<Module<Tensor, Tensor>>? act = null, double eps = 1e-5, double momentum = 0.1)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>
        {
            ("0", Conv2d(inChannels, outChannels, kernel_size: kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false, device: TorchRuntime.BuildDevice)),
            ("1", BatchNorm2d(outChannels, eps: eps, momentum: momentum, device: TorchRuntime.BuildDevice)),
        };
        if (act is not null) layers.Add(("2", act()));
        return Sequential(layers);
    }

    /// <summary>
    /// Stages for parameter groups, split where the feature map is downsampled: <c>features.0</c> and the blocks at the
    /// same resolution are "stem"; each later stride-2 block starts "stage1", "stage2", ...
    /// </summary>
    public static List<(string, string[])> StagesByStride(IReadOnlyList<int> strides)
    {
        var stages = new List<(string, string[])>();
        var current = new List<string>();
        for (int i = 0; i < strides.Count; i++)
        {
            if (i > 0 && strides[i] > 1)
            {
                stages.Add((stages.Count == 0 ? "stem" : $"stage{stages.Count}", current.ToArray()));
                current.Clear();
            }
            current.Add($"features.{i}");
        }
        stages.Add((stages.Count == 0 ? "stem" : $"stage{stages.Count}", current.ToArray()));
        return stages;
    }

    /// <summary>
    /// torchvision's MobileNet init: Kaiming-normal fan_out convolutions (PyTorch's default leaky_relu with a = 0, the
    /// same gain as relu), zero conv biases, BatchNorm 1 and 0, linears N(0, 0.01) with zero bias.
    /// </summary>
    public static void InitWeights(Module model)
    {
        using var _ = no_grad();
        foreach (var (_, m) in model.named_modules())
        {
            switch (m)
            {
                case Conv2d c:
                    init.kaiming_normal_(c.weight, a: 0, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.LeakyReLU);
                    if (c.bias is not null) init.zeros_(c.bias);
                    break;
                case BatchNorm2d b:
                    init.ones_(b.weight);
                    init.zeros_(b.bias);
                    break;
                case Linear l:
                    InitLinear(l);
                    break;
            }
        }
    }

    public static void InitLinear(Linear l)
    {
        using var _ = no_grad();
        init.normal_(l.weight, 0, 0.01);
        if (l.bias is not null) init.zeros_(l.bias);
    }
}

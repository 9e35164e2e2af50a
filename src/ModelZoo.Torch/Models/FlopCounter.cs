using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Models;

/// <summary>Multiply-accumulates of one image, in total and per counted module (state_dict path).</summary>
public sealed record FlopCount(long Macs, IReadOnlyList<(string Module, long Macs)> PerModule)
{
    /// <summary>
    /// GMACs of convolutions and linears, which is what torchvision publishes as <c>_ops</c> ("GFLOPS") in its
    /// weights meta: resnet18 at 224 is 1.814, mobilenet_v2 0.301.
    /// </summary>
    public double Gflops => Macs / 1e9;
}

/// <summary>
/// Counts the multiply-accumulates of a real module by running one forward pass with forward hooks on every
/// <c>Conv2d</c> (groups included), <c>Linear</c> and ResNet's <c>PointwiseConv</c>. Each hook measures the output it
/// sees and multiplies its element count by the weight's fan-in (<c>in/groups * kh * kw</c> or <c>in_features</c>),
/// so padding, strides, grouping and the real feature-map sizes come from the module itself, not from a formula.
/// BatchNorm, activations, pooling, additions and biases are not counted, as in torchvision's figures.
/// </summary>
public static class FlopCounter
{
    public static FlopCount Count(nn.Module<Tensor, Tensor> model, int inputSize, int channels = 3) =>
        Count(model, inputSize, inputSize, channels);

    public static FlopCount Count(nn.Module<Tensor, Tensor> model, int height, int width, int channels = 3)
    {
        var perModule = new List<(string, long)>();
        var removers = new List<Action>();
        bool wasTraining = model.training;
        try
        {
            foreach (var (name, m) in model.named_modules())
            {
                var weight = m switch
                {
                    Conv2d c => c.weight,
                    Linear l => l.weight,
                    ResNet.PointwiseConv p => p.weight,
                    _ => null,
                };
                if (weight is null || m is not nn.Module<Tensor, Tensor> hookable) continue;
                long fanIn = weight.numel() / weight.shape[0];
                var remover = hookable.register_forward_hook((_, _, output) =>
                {
                    perModule.Add((name, output.numel() / output.shape[0] * fanIn));
                    return output;
                });
                removers.Add(remover.remove);
            }

            model.eval();
            var device = model.parameters().FirstOrDefault()?.device ?? CPU;
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            model.call(zeros(1, channels, height, width, device: device));
        }
        finally
        {
            foreach (var remove in removers) remove();
            if (wasTraining) model.train();
        }
        return new FlopCount(perModule.Sum(p => p.Item2), perModule);
    }
}

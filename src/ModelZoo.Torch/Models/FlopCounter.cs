using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Models;

/// <summary>Multiply-accumulates of one input (an image, or a sequence for a text model), in total and per counted
/// module (state_dict path).</summary>
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
/// <para>A BERT model is fed one sequence of <c>inputSize</c> tokens. Its linears are counted the same way (Q, K, V,
/// the output and feed-forward layers, pooler, heads, and the masked-LM decoder tied to the word embeddings, which
/// runs at every position); the two attention products per layer, QKᵀ and the weighting of V, are matrix products
/// of activations with no module of their own, so each self-attention module adds 2·L²·H for a sequence of L tokens
/// and hidden size H. Embedding lookups, softmax and LayerNorm are not counted, as BatchNorm is not for images.</para>
/// </summary>
public static class FlopCounter
{
    /// <summary>One image of <paramref name="inputSize"/>² pixels, or for a text model one sequence of that many tokens.</summary>
    public static FlopCount Count(nn.Module<Tensor, Tensor> model, int inputSize, int channels = 3) =>
        model is Bert bert ? CountText(bert, inputSize) : Count(model, inputSize, inputSize, channels);

    public static FlopCount Count(nn.Module<Tensor, Tensor> model, int height, int width, int channels = 3) =>
        Run(model, device => zeros(1, channels, height, width, device: device), []);

    static FlopCount CountText(Bert model, int tokens)
    {
        if (tokens < 1 || tokens > model.Config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(tokens), tokens, $"A sequence has 1 to {model.Config.MaxPositionEmbeddings} tokens for this model.");
        long attention = 2L * tokens * tokens * model.Config.HiddenSize;
        var products = model.named_modules().Where(m => m.module is BertSelfAttention).Select(m => (m.name + ".products", attention)).ToList();
        // Token id 0 and the default all-ones attention mask: the count depends on shapes only.
        return Run(model, device => zeros([1, tokens], dtype: ScalarType.Int64, device: device), products);
    }

    static FlopCount Run(nn.Module<Tensor, Tensor> model, Func<Device, Tensor> input, IReadOnlyList<(string, long)> uncounted)
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
                    TiedDecoder d => d.weight,
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
            model.call(input(device));
        }
        finally
        {
            foreach (var remove in removers) remove();
            if (wasTraining) model.train();
        }
        perModule.AddRange(uncounted);
        return new FlopCount(perModule.Sum(p => p.Item2), perModule);
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Pretraining;

/// <summary>
/// transformers' <c>DataCollatorForLanguageModeling</c> recipe: each non-special token is chosen with probability
/// 0.15; a chosen token becomes [MASK] with probability 0.8, a random token with 0.1 and stays as it is with 0.1.
/// Labels are the original ids at chosen positions and -100 (ignored) elsewhere. One deviation: random tokens are
/// drawn from the non-special ids only (transformers draws from the whole vocabulary, specials included).
/// All draws come from the given generator on the CPU, so a seed fixes the masks whatever the training device.
/// </summary>
public static class MlmMasking
{
    public const long IgnoreIndex = -100;

    /// <param name="ids">int64 token ids [B, L] on the CPU.</param>
    /// <param name="firstRegularId">ids below this are special tokens ([PAD], [UNK], [CLS], [SEP], [MASK]) and never
    /// chosen; random replacements are drawn from [firstRegularId, vocabSize).</param>
    public static (Tensor Inputs, Tensor Labels) Apply(Tensor ids, long maskId, long firstRegularId, long vocabSize,
        Generator generator, double probability = 0.15)
    {
        if (ids.device_type != DeviceType.CPU) throw new ArgumentException("Mask on the CPU (the generator is a CPU generator).", nameof(ids));
        if (firstRegularId >= vocabSize) throw new ArgumentException("The vocabulary has no regular tokens to draw.", nameof(vocabSize));
        using var scope = NewDisposeScope();
        var regular = ids.ge(firstRegularId);
        var chosen = bernoulli(full(ids.shape, probability, dtype: ScalarType.Float32, device: CPU), generator).to_type(ScalarType.Bool).logical_and(regular);
        var labels = ids.masked_fill(chosen.logical_not(), IgnoreIndex);
        var replaced = bernoulli(full(ids.shape, 0.8, dtype: ScalarType.Float32, device: CPU), generator).to_type(ScalarType.Bool).logical_and(chosen);
        var randomised = bernoulli(full(ids.shape, 0.5, dtype: ScalarType.Float32, device: CPU), generator).to_type(ScalarType.Bool)
            .logical_and(chosen).logical_and(replaced.logical_not());
        var randomIds = randint(firstRegularId, vocabSize, ids.shape, generator: generator, dtype: ScalarType.Int64, device: CPU);
        var inputs = ids.masked_fill(replaced, maskId).where(randomised.logical_not(), randomIds);
        return (inputs.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }
}

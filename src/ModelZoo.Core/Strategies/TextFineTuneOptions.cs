using System.Text.RegularExpressions;
using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Strategies;

/// <summary>Fine-tuning of a BERT-style encoder, with its embeddings and lower encoder layers optionally frozen.</summary>
public sealed partial record TextFineTuneOptions : StrategyOptions, IStrategyDefinition<TextFineTuneOptions>
{
    public static StrategyInfo Info { get; } = new()
    {
        Id = "text-fine-tune",
        Title = "Text fine-tune (BERT-style)",
        Order = 35,
        Summary = "The encoder and a new classifier train together; the embeddings and the lower encoder layers may stay frozen.",
        Explanation =
            "The standard way to adapt a BERT-style encoder (Devlin et al. 2019): a new classifier on the pooled [CLS] token, and the " +
            "encoder trains with it. Freezing the word, position and type embeddings keeps the pretrained vocabulary's geometry " +
            "for words the small training set never shows; freezing the lower encoder layers, which hold the more general syntax, " +
            "saves compute and memory and limits overfitting on small data, while the upper layers adapt to the task. Frozen parts " +
            "keep their weights and run in inference mode (their dropout is off), so they compute exactly what they were pretrained " +
            "to. Layer-wise decay gives the classifier the base rate and each layer below it that rate times the decay per layer " +
            "(ULMFiT; ELECTRA fine-tunes with 0.8 for its base model and 0.9 for its large one); 1 keeps one rate for all, as the original BERT recipe does " +
            "(2e-5 to 5e-5 with AdamW, a short warmup and 2 to 4 epochs).",
        Modalities = [DatasetModality.Text],
    };

    [Option("Freeze embeddings", "Keep the word, position and token-type embeddings (and their LayerNorm) as pretrained.")]
    public bool FreezeEmbeddings { get; init; }

    [Option("Frozen encoder layers", "How many encoder layers, counted from the bottom, keep their pretrained weights (0: all train; " +
        "at most the model's number of layers, e.g. 12 for BERT-base).", Min = 0, Max = 128)]
    public int FrozenLayers { get; init; }

    [Option("Layer-wise decay", "Each lower layer learns at this multiple of the rate of the layer above (1: one rate for all; " +
        "typical 0.8 to 0.95).", Min = 0.05, Max = 1)]
    public double LayerwiseDecay { get; init; } = 1.0;

    /// <summary>The model's encoder layers, from its stages named <c>encoder.layer.N</c>.</summary>
    public static int EncoderLayers(IReadOnlyList<string> stages) => stages.Count(s => EncoderLayer().IsMatch(s));

    [GeneratedRegex(@"^encoder\.layer\.\d+$")]
    private static partial Regex EncoderLayer();

    public override IEnumerable<OptionProblem> Check(StrategyCheckContext context)
    {
        var layers = EncoderLayers(context.Model.Stages);
        if (FrozenLayers > layers)
            yield return OptionProblem.Option("frozenLayers",
                $"Frozen encoder layers must be between 0 and {layers}: model '{context.Model.Id}' has {layers} encoder layers.");
        if (FreezeEmbeddings && !context.Model.Stages.Contains("embeddings"))
            yield return OptionProblem.Option("freezeEmbeddings", $"Model '{context.Model.Id}' has no 'embeddings' stage to freeze.");
    }
}

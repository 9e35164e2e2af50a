using System.Diagnostics;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Text;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Benchmarks;

public sealed record TextBenchSpec(int MaxTokens, int Batch, int Batches, int Rounds, int Threads);

/// <summary>What <see cref="TextBenchmark.Run"/> measured; times are medians over rounds.</summary>
public sealed record TextBenchResult(
    int Texts, double TokeniseMs, long Pieces, double MeanLongestLength, int MaxLength,
    double LongestStepMs, double MaxLengthStepMs, long Parameters);

/// <summary>
/// The text pipeline's costs on real texts: tokenising (texts and pieces per second) and a BERT training step
/// (forward, backward, AdamW) on the same batches padded to their longest text, as <see cref="TextBatcher"/> does,
/// and padded to the maximum length. The two paddings alternate within each round (A B A B), so machine noise hits
/// both; their ratio is the saving.
/// </summary>
public static class TextBenchmark
{
    public static TextBenchResult Run(WordPieceTokenizer tokenizer, IReadOnlyList<string> texts, string? configJson, TextBenchSpec s)
    {
        if (texts.Count < s.Batch) throw new ArgumentException($"Need at least one batch of texts ({s.Batch}); got {texts.Count}.");
        var tokenise = new List<double>();
        long pieces = 0;
        for (int r = 0; r < s.Rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            pieces = 0;
            foreach (var t in texts) pieces += tokenizer.Tokenize(t).Count;
            tokenise.Add(sw.Elapsed.TotalMilliseconds);
        }

        var previous = torch.get_num_threads();
        torch.set_num_threads(s.Threads);
        try
        {
            using var model = Native.TorchRuntime.BuildSeeded(0, () =>
                (Bert)ArchitectureRegistry.Default.Create("bert", new ArchitectureOptions(2, configJson)));
            if (tokenizer.VocabSize > model.Config.VocabSize)
                throw new ArgumentException($"The vocabulary has {tokenizer.VocabSize} tokens but the config's vocab_size is {model.Config.VocabSize}.");
            var maxLength = Math.Min(s.MaxTokens, model.Config.MaxPositionEmbeddings);
            var set = new TextSet { Texts = texts, Labels = texts.Select((_, i) => i % 2).ToArray(), ClassNames = ["a", "b"] };
            var batcher = new TextBatcher(set, tokenizer, maxLength, CPU);
            int batches = Math.Min(s.Batches, texts.Count / s.Batch);
            var lengths = new List<long>();
            using var optimizer = torch.optim.AdamW(model.parameters(), 1e-4);
            model.train();

            var longest = new List<double>(); var full = new List<double>();
            for (int r = -1; r < s.Rounds; r++) // round -1 warms up both
                for (int b = 0; b < batches; b++)
                {
                    var idx = Enumerable.Range(b * s.Batch, s.Batch).ToArray();
                    var (x, y) = batcher.Batch(idx);
                    using (x) using (y)
                    {
                        if (r == 0) lengths.Add(x.shape[2]);
                        using var padded = PadTo(x, maxLength, tokenizer.PadId);
                        var a = Step(model, optimizer, x, y);
                        var c = Step(model, optimizer, padded, y);
                        if (r >= 0) { longest.Add(a); full.Add(c); }
                    }
                }
            return new TextBenchResult(texts.Count, ModelBenchmark.Median(tokenise), pieces, lengths.Average(), maxLength,
                ModelBenchmark.Median(longest), ModelBenchmark.Median(full), model.ParameterCount());
        }
        finally { torch.set_num_threads(previous); }
    }

    /// <summary>The same packed batch with ids padded by [PAD], mask and types by 0, up to <paramref name="length"/>.</summary>
    static Tensor PadTo(Tensor packed, int length, int padId)
    {
        using var scope = NewDisposeScope();
        var extra = length - (int)packed.shape[2];
        if (extra == 0) return packed.clone().MoveToOuterDisposeScope();
        var (n, rows) = (packed.shape[0], packed.shape[1]);
        var pad = zeros([n, rows, extra], ScalarType.Int64, device: packed.device);
        pad.select(1, 0).fill_(padId);
        return cat([packed, pad], 2).MoveToOuterDisposeScope();
    }

    static double Step(ZooModel model, torch.optim.Optimizer optimizer, Tensor x, Tensor y)
    {
        var sw = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        nn.functional.cross_entropy(model.call(x), y).backward();
        optimizer.step();
        return sw.Elapsed.TotalMilliseconds;
    }
}

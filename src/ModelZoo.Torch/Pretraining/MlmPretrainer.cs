using System.Diagnostics;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Pretraining;

/// <summary>The recipe of one masked-language-model pretraining run; every number that shapes the result.</summary>
public sealed record MlmPretrainOptions
{
    public required BertConfig Config { get; init; }
    public int SequenceLength { get; init; } = 128;
    public int BatchSize { get; init; } = 32;
    public int Steps { get; init; } = 1000;
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Linear warm-up from 0 over this many steps, then linear decay to 0 at <see cref="Steps"/>
    /// (transformers' <c>get_linear_schedule_with_warmup</c>).</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>AdamW weight decay, not applied to biases and LayerNorm weights (transformers' Trainer does the same).</summary>
    public double WeightDecay { get; init; } = 0.01;
    public double MaxGradNorm { get; init; } = 1.0;
    public double MaskProbability { get; init; } = 0.15;
    public long Seed { get; init; } = 20261123;
    /// <summary>Ids below this are special tokens: never masked, never drawn as random replacements.</summary>
    public int FirstRegularId { get; init; } = 5;
    public int MaskId { get; init; } = 4;
    /// <summary>A safety stop: training ends early after this long (the result says so). Null: run every step.</summary>
    public TimeSpan? MaxDuration { get; init; }
    public int ReportEvery { get; init; } = 10;
}

public sealed record MlmStepReport(int Step, int Steps, double Loss, double LearningRate, double SequencesPerSecond, TimeSpan Elapsed, TimeSpan Eta);

/// <summary>Masked-token accuracy and perplexity (exp of the mean cross-entropy) over the masked tokens of a held-out set.</summary>
public sealed record MlmEvaluation(double MaskedAccuracy, double Perplexity, double MeanLoss, long MaskedTokens, int Sequences);

public sealed record MlmPretrainResult(
    int StepsRun, bool StoppedEarly, double FirstLoss, double LastLoss, MlmEvaluation HeldOut, TimeSpan TrainingTime,
    string Device, int Threads, long TrainTokensSeen);

/// <summary>
/// Pretrains a <see cref="BertForMaskedLM"/> with masked-language modelling on packed sequences: AdamW with
/// warm-up and linear decay, gradient clipping, masks drawn from a seeded CPU generator; then measures the source
/// task on a held-out set with masks from a second fixed seed, so two models evaluated on one set see the same masks.
/// The logits are computed only at masked positions (the loss ignores the others), which saves the vocabulary
/// projection of 85 % of the tokens.
/// </summary>
public static class MlmPretrainer
{
    public static BertForMaskedLM Build(MlmPretrainOptions o) => TorchRuntime.BuildSeeded(o.Seed, () => new BertForMaskedLM(o.Config));

    public static MlmPretrainResult Train(BertForMaskedLM model, MlmPretrainOptions o, long[,] train, long[,] heldOut,
        Action<MlmStepReport>? report = null, CancellationToken ct = default)
    {
        if (train.GetLength(0) < o.BatchSize) throw new ArgumentException($"The training set has {train.GetLength(0)} sequences, fewer than one batch of {o.BatchSize}.", nameof(train));
        if (train.GetLength(1) != o.SequenceLength) throw new ArgumentException($"Sequences are {train.GetLength(1)} tokens, the recipe says {o.SequenceLength}.", nameof(train));
        if (o.SequenceLength > o.Config.MaxPositionEmbeddings) throw new ArgumentException($"Sequence length {o.SequenceLength} exceeds max_position_embeddings {o.Config.MaxPositionEmbeddings}.");
        var device = TorchRuntime.Device;
        model.to(device);
        model.train();

        var named = model.named_parameters().ToList();
        bool NoDecay(string name) => name.EndsWith(".bias", StringComparison.Ordinal) || name.Contains("LayerNorm", StringComparison.Ordinal);
        using var optimizer = optim.AdamW([
            new TorchSharp.Modules.AdamW.ParamGroup(named.Where(p => !NoDecay(p.name)).Select(p => p.parameter), new TorchSharp.Modules.AdamW.Options { LearningRate = o.LearningRate, weight_decay = o.WeightDecay }),
            new TorchSharp.Modules.AdamW.ParamGroup(named.Where(p => NoDecay(p.name)).Select(p => p.parameter), new TorchSharp.Modules.AdamW.Options { LearningRate = o.LearningRate, weight_decay = 0 }),
        ], lr: o.LearningRate);

        using var all = tensor(train, device: CPU);
        using var generator = new Generator((ulong)o.Seed, CPU);
        var order = new Random(unchecked((int)o.Seed));
        int n = (int)all.shape[0], batchesPerEpoch = n / o.BatchSize, cursor = batchesPerEpoch;
        int[] perm = [];
        var sw = Stopwatch.StartNew();
        double firstLoss = double.NaN, lastLoss = double.NaN, windowLoss = 0; int window = 0, step = 0;
        bool stoppedEarly = false;
        long tokens = 0;
        var parameters = model.parameters().ToList();

        for (; step < o.Steps; step++)
        {
            ct.ThrowIfCancellationRequested();
            if (o.MaxDuration is { } max && sw.Elapsed > max) { stoppedEarly = true; break; }
            if (cursor == batchesPerEpoch) { perm = Enumerable.Range(0, n).ToArray(); order.Shuffle(perm); cursor = 0; }
            double lr = LearningRateAt(step, o);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;

            using var scope = NewDisposeScope();
            using var index = tensor(perm.AsSpan(cursor++ * o.BatchSize, o.BatchSize).ToArray().Select(i => (long)i).ToArray(), device: CPU);
            var batch = all.index_select(0, index);
            var (inputs, labels) = MlmMasking.Apply(batch, o.MaskId, o.FirstRegularId, o.Config.VocabSize, generator, o.MaskProbability);
            var loss = MaskedLoss(model, inputs.to(device), labels.to(device), out _, out _);
            optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, o.MaxGradNorm);
            optimizer.step();
            var l = loss.item<float>();
            if (!double.IsFinite(l)) throw new InvalidOperationException($"The MLM loss became {l} at step {step + 1}; lower the learning rate (it is {lr:G4}).");
            if (step == 0) firstLoss = l;
            lastLoss = l; windowLoss += l; window++;
            tokens += o.BatchSize * (long)o.SequenceLength;
            if ((step + 1) % o.ReportEvery == 0 || step + 1 == o.Steps)
            {
                var elapsed = sw.Elapsed;
                var rate = (step + 1) * o.BatchSize / elapsed.TotalSeconds;
                var eta = TimeSpan.FromSeconds((o.Steps - step - 1) * o.BatchSize / Math.Max(rate, 1e-9));
                report?.Invoke(new MlmStepReport(step + 1, o.Steps, windowLoss / window, lr, rate, elapsed, eta));
                windowLoss = 0; window = 0;
            }
        }
        var trainingTime = sw.Elapsed;
        var eval = Evaluate(model, heldOut, o);
        return new MlmPretrainResult(step, stoppedEarly, firstLoss, lastLoss, eval, trainingTime, TorchRuntime.DeviceDescription, TorchRuntime.Threads, tokens);
    }

    /// <summary>transformers' linear schedule with warm-up.</summary>
    public static double LearningRateAt(int step, MlmPretrainOptions o) =>
        step < o.WarmupSteps ? o.LearningRate * (step + 1) / Math.Max(1, o.WarmupSteps)
        : o.LearningRate * Math.Max(0.0, (double)(o.Steps - step) / Math.Max(1, o.Steps - o.WarmupSteps));

    /// <summary>Held-out masked-token accuracy and perplexity. Masks come from seed+1, the same for every model.</summary>
    public static MlmEvaluation Evaluate(BertForMaskedLM model, long[,] heldOut, MlmPretrainOptions o, int batchSize = 64)
    {
        var device = TorchRuntime.Device;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            using var all = tensor(heldOut, device: CPU);
            using var generator = new Generator((ulong)(o.Seed + 1), CPU);
            double sumLoss = 0; long correct = 0, count = 0;
            int n = (int)all.shape[0];
            for (int start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batch = all.narrow(0, start, Math.Min(batchSize, n - start));
                var (inputs, labels) = MlmMasking.Apply(batch, o.MaskId, o.FirstRegularId, o.Config.VocabSize, generator, o.MaskProbability);
                var loss = MaskedLoss(model, inputs.to(device), labels.to(device), out var logits, out var targets, reduction: nn.Reduction.Sum);
                sumLoss += loss.item<float>();
                correct += logits.argmax(1).eq(targets).sum().item<long>();
                count += targets.shape[0];
            }
            var mean = count == 0 ? double.NaN : sumLoss / count;
            return new MlmEvaluation(count == 0 ? double.NaN : (double)correct / count, Math.Exp(mean), mean, count, n);
        }
        finally { model.train(wasTraining); }
    }

    /// <summary>Cross-entropy over the masked positions only: the head runs on those hidden states alone.</summary>
    static Tensor MaskedLoss(BertForMaskedLM model, Tensor inputs, Tensor labels, out Tensor logits, out Tensor targets,
        nn.Reduction reduction = nn.Reduction.Mean)
    {
        var hidden = model.ForwardFeatures(inputs);
        var flatLabels = labels.reshape(-1);
        var positions = flatLabels.ne(MlmMasking.IgnoreIndex).nonzero().squeeze(1);
        var selected = hidden.reshape(-1, hidden.shape[^1]).index_select(0, positions);
        targets = flatLabels.index_select(0, positions);
        logits = model.ForwardHead(selected);
        return nn.functional.cross_entropy(logits, targets, reduction: reduction);
    }
}

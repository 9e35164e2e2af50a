using System.Globalization;
using System.Text;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Cards;

/// <summary>Everything a card may say, taken from the run's own records; nothing is typed in.</summary>
public sealed record CardInput(
    Guid RunId,
    string? RunName,
    ModelManifest Model,
    WeightsAvailability Weights,
    string? WeightsSha256,
    DatasetInfo Dataset,
    RunRequest Request,
    RunResult Result,
    IReadOnlyList<EpochMetrics> Epochs,
    string Device,
    int Threads,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    string SoftwareVersions);

/// <summary>
/// Builds a model card (Markdown) in the spirit of Hugging Face's model cards: what the model is, what it was
/// trained on and how, how well it did on held-out data, and what it must not be used for.
/// </summary>
public static class ModelCardBuilder
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Build(CardInput c)
    {
        var h = c.Request.HyperParameters;
        var r = c.Result;
        var sb = new StringBuilder();
        var title = string.IsNullOrWhiteSpace(c.RunName) ? $"{c.Model.Title} on {c.Dataset.Title}" : c.RunName;
        sb.AppendLine($"# {Esc(title)}");
        sb.AppendLine();
        sb.AppendLine($"A {Esc(c.Model.Title)} classifier for {c.Dataset.ClassNames.Count} classes of {Esc(c.Dataset.Title)}, trained by ModelZoo run `{c.RunId}` with the **{StrategyDescriptions.Title(c.Request.Strategy)}** strategy.");
        sb.AppendLine();
        sb.AppendLine("## Results on the held-out test split");
        sb.AppendLine();
        sb.AppendLine("| metric | value |");
        sb.AppendLine("| --- | --- |");
        sb.AppendLine($"| test accuracy | {Pct(r.TestAccuracy)} ({r.TestExamples} examples) |");
        sb.AppendLine($"| test loss (cross-entropy) | {F(r.TestLoss)} |");
        sb.AppendLine($"| best validation accuracy | {Pct(r.BestValAccuracy)} (epoch {r.BestEpoch}) |");
        sb.AppendLine($"| training time | {F(r.TrainSeconds, 1)} s on {Esc(c.Device)} |");
        sb.AppendLine();
        if (r.PerClassAccuracy.Count == r.ClassNames.Count && r.ClassNames.Count > 0)
        {
            sb.AppendLine("Per-class test accuracy:");
            sb.AppendLine();
            sb.AppendLine("| class | accuracy |");
            sb.AppendLine("| --- | --- |");
            for (int i = 0; i < r.ClassNames.Count; i++) sb.AppendLine($"| {Esc(r.ClassNames[i])} | {Pct(r.PerClassAccuracy[i])} |");
            sb.AppendLine();
        }

        sb.AppendLine("## Weights");
        sb.AppendLine();
        sb.AppendLine(c.Weights switch
        {
            WeightsAvailability.Available =>
                $"The backbone started from the imported weights of catalogue entry `{c.Model.Id}`" +
                (c.WeightsSha256 is null ? "." : $" (sha256 `{c.WeightsSha256}`)."),
            WeightsAvailability.Bundled =>
                $"The backbone started from the house weights bundled with catalogue entry `{c.Model.Id}` " +
                $"(`{c.Model.Weights?.File}`" + (c.WeightsSha256 is null ? ")" : $", sha256 `{c.WeightsSha256}`)") +
                (c.Model.Training is { } tr ? $", pretrained by this project on `{tr.Dataset.Split(':')[0]}` with `{tr.Command}`." : "."),
            _ =>
                $"**The backbone was randomly initialised (seed {h.Seed}); no pretrained weights were used.** " +
                $"The official weights of `{c.Model.Id}` were not imported on this installation, so this run measures " +
                "what a linear classifier can do on random features. It says nothing about transfer from pretraining.",
        });
        sb.AppendLine();
        if (r.TrainedArchitecture is { } trainedAs && trainedAs != c.Model.Architecture)
        {
            sb.AppendLine($"The entry's architecture is `{c.Model.Architecture}`, which has no classifier of its own; the run fine-tuned " +
                          $"`{trainedAs}` on the same backbone.");
            sb.AppendLine();
        }
        if (r.WeightsNotes.Count > 0)
        {
            sb.AppendLine("Loading the weights:");
            sb.AppendLine();
            foreach (var note in r.WeightsNotes) sb.AppendLine($"- {Esc(note)}");
            sb.AppendLine();
        }
        sb.AppendLine($"Parameters: {r.TotalParameters.ToString("N0", Inv)} in total, {r.TrainableParameters.ToString("N0", Inv)} trained.");
        sb.AppendLine();
        if (r.TrainedWeights is { } tw)
        {
            // The hash lets a reviewer check a downloaded file against this card (sha256sum).
            sb.AppendLine($"Fine-tuned weights: `{tw.File}`, the whole trained model (backbone and its {r.ClassNames.Count}-class head, reference key names) " +
                          $"as F32 safetensors, {tw.Bytes.ToString("N0", Inv)} bytes, sha256 `{tw.Sha256}`. " +
                          $"Download it from the run's page or `GET /api/runs/{c.RunId}/weights.safetensors`.");
            sb.AppendLine();
        }

        sb.AppendLine("## Training data");
        sb.AppendLine();
        var isText = c.Dataset.Modality == DatasetModality.Text;
        sb.AppendLine(isText
            ? $"- Dataset: {Esc(c.Dataset.Title)} (`{c.Dataset.Id}`), {c.Dataset.Examples} texts."
            : $"- Dataset: {Esc(c.Dataset.Title)} (`{c.Dataset.Id}`), {c.Dataset.Examples} examples, {c.Dataset.Width}x{c.Dataset.Height}, {c.Dataset.Channels} channel(s).");
        sb.AppendLine($"- Provenance: {Esc(c.Dataset.Provenance)}");
        sb.AppendLine($"- Licence: {Esc(c.Dataset.License)}");
        sb.AppendLine($"- Split (stratified, seed {c.Dataset.SplitSeed}): {r.TrainExamples} used for training" +
                      (h.TrainLimit > 0 ? $" (limited to {h.TrainLimit})" : "") +
                      $", {r.ValExamples} validation, {r.TestExamples} test.");
        sb.AppendLine();

        sb.AppendLine("## Training procedure");
        sb.AppendLine();
        sb.AppendLine($"- Strategy: {StrategyDescriptions.Describe(c.Request.Strategy)}");
        var decay = StrategyDescriptions.LayerwiseDecayOf(c.Request.Strategy);
        var lrNote = decay is { } d ? $" for the head, layer-wise decay {d.ToString("G4", Inv)} per earlier stage" : "";
        sb.AppendLine($"- Epochs {h.Epochs}, batch size {h.BatchSize}, learning rate {h.LearningRate.ToString("G4", Inv)}{lrNote} (AdamW), seed {h.Seed}.");
        var pre = c.Model.Preprocessing;
        if (isText && c.Model.Text is { } t)
            sb.AppendLine($"- Input: WordPiece tokens of the model's `{Esc(t.VocabFile)}` ({(t.Lowercase ? "lower-cased" : "cased")}" +
                          $"{((t.StripAccents ?? t.Lowercase) ? ", accents stripped" : "")}), at most {Math.Min(h.MaxTokens, t.MaxLength)} tokens with [CLS] and [SEP]; longer texts keep their beginning. Batches are padded to their longest text, with an attention mask.");
        else
        {
            var resize = pre.ResizeSize is int rs ? $"shorter side resized by the model's {rs}/{pre.InputSize} ratio with {Esc(pre.Interpolation)} interpolation, then centre-cropped"
                : $"resized with {Esc(pre.Interpolation)} interpolation";
            sb.AppendLine($"- Input: {h.ImageSize}x{h.ImageSize}, {resize}; grey repeated to 3 channels, normalised with mean [{string.Join(", ", pre.Mean.Select(v => F(v, 3)))}] and std [{string.Join(", ", pre.Std.Select(v => F(v, 3)))}].");
            sb.AppendLine(h.Augment
                ? "- Training augmentations (seeded): random resized crop, horizontal flip where the dataset allows it, small rotation, colour jitter; none for validation and test."
                : "- Training augmentations: off.");
        }
        sb.AppendLine($"- Hardware: {Esc(c.Device)}, {c.Threads} intra-op thread(s). Software: {Esc(c.SoftwareVersions)}.");
        sb.AppendLine($"- Started {c.StartedAt:u}, finished {c.FinishedAt:u}.");
        sb.AppendLine();
        if (c.Epochs.Count > 0)
        {
            sb.AppendLine("| epoch | train loss | train acc | val loss | val acc | seconds |");
            sb.AppendLine("| --- | --- | --- | --- | --- | --- |");
            foreach (var e in c.Epochs)
                sb.AppendLine($"| {e.Epoch} | {F(e.TrainLoss)} | {Pct(e.TrainAccuracy)} | {F(e.ValLoss)} | {Pct(e.ValAccuracy)} | {F(e.Seconds, 1)} |");
            sb.AppendLine();
        }

        sb.AppendLine("## Limitations");
        sb.AppendLine();
        sb.AppendLine($"- Evaluated only on the test split of `{c.Dataset.Id}`; accuracy on other data ({(isText ? "other sources, topics, writing styles" : "other writers, scanners, colours")}) is unknown.");
        if (!c.Weights.HasWeights())
            sb.AppendLine("- The backbone is untrained: do not read these numbers as the architecture's transfer-learning quality.");
        sb.AppendLine("- Not for decisions about people, and not validated for any safety-relevant use.");
        return sb.ToString();
    }

    static string F(double v, int digits = 4) => double.IsFinite(v) ? v.ToString("F" + digits, Inv) : v.ToString(Inv);
    static string Pct(double v) => (v * 100).ToString("F2", Inv) + " %";

    /// <summary>User-provided text goes into Markdown; keep it from forming tables, links or HTML.</summary>
    static string Esc(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var ch in s)
        {
            if (ch is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '#') sb.Append('\\');
            sb.Append(ch is '\r' or '\n' ? ' ' : ch);
        }
        return sb.ToString();
    }
}

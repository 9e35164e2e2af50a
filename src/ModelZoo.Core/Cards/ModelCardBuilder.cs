using System.Globalization;
using System.Text;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Text;
using ModelZoo.Core.Strategies;

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
    string SoftwareVersions,
    StrategyDescription? Strategy = null,
    StrategyOptions? Options = null,
    DatasetInfo? Target = null,
    IReadOnlyDictionary<string, Runs.Compare.SingleTaskPeer>? TaskPeers = null,
    CardSourceRun? SourceRun = null);

/// <summary>The finished run a run learnt from (<c>RunRequest.SourceRunId</c>), as its card names it.</summary>
public sealed record CardSourceRun(Guid RunId, string ModelId, string DatasetId, double? TestAccuracy);

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
        // The Hub's metadata block first: a card pushed to a Hugging Face repository as README.md is indexed from it.
        sb.Append(CardFrontMatter.Build(c));
        var title = string.IsNullOrWhiteSpace(c.RunName) ? $"{c.Model.Title} on {c.Dataset.Title}" : c.RunName;
        sb.AppendLine($"# {Esc(title)}");
        sb.AppendLine();
        sb.AppendLine($"A {Esc(c.Model.Title)} classifier for {c.Dataset.ClassNames.Count} classes of {Esc(c.Dataset.Title)}, trained by ModelZoo run `{c.RunId}` with the **{Esc(StrategyTitle(c))}** strategy.");
        sb.AppendLine();
        if (c.SourceRun is { } source) AppendSourceRun(sb, c, source);
        sb.AppendLine("## Results on the held-out test split");
        sb.AppendLine();
        sb.AppendLine("| metric | value |");
        sb.AppendLine("| --- | --- |");
        sb.AppendLine($"| test accuracy | {Pct(r.TestAccuracy)} ({r.TestExamples} examples) |");
        var baseline = TestBaselines.Of(r);
        if (baseline is { } b)
        {
            sb.AppendLine($"| majority-class baseline | {Pct(b.Majority)} (always answering '{Esc(b.MajorityClass)}', the test split's largest class) |");
            sb.AppendLine($"| chance | {Pct(b.Chance)} (a uniform guess among {r.ClassNames.Count} classes) |");
        }
        sb.AppendLine($"| test loss (cross-entropy) | {F(r.TestLoss)} |");
        if (r.PerClass.Count > 0) sb.AppendLine($"| macro-F1 | {F(r.MacroF1)} |");
        if (r.Calibration is { } cal) sb.AppendLine($"| expected calibration error ({cal.Bins.Count} bins) | {F(cal.Ece)} |");
        sb.AppendLine(r.Selection switch
        {
            ModelSelection.BestValidation => $"| best validation accuracy | {Pct(r.BestValAccuracy)} (epoch {r.BestEpoch}; its weights are the ones tested) |",
            ModelSelection.LastEpoch => $"| validation accuracy, best epoch | {Pct(r.BestValAccuracy)} (epoch {r.BestEpoch}; not used to choose: the last epoch's weights are tested) |",
            _ => $"| validation accuracy | {Pct(r.BestValAccuracy)} (nothing was trained by gradient steps, so nothing was selected) |",
        });
        sb.AppendLine($"| training time | {F(r.TrainSeconds, 1)} s on {Esc(c.Device)} |");
        sb.AppendLine();
        if (baseline is { } bl && !bl.Beaten(r.TestAccuracy))
        {
            sb.AppendLine($"**Warning: this model does not beat the majority class.** Always answering '{Esc(bl.MajorityClass)}' scores " +
                          $"{Pct(bl.Majority)} on this test split; the model scores {Pct(r.TestAccuracy)}. Check the per-class scores below " +
                          "before using it: a model that collapses onto the largest class scores 0 on the others.");
            sb.AppendLine();
        }
        if (r.PretrainingOverlap?.Test is { Overlapping: > 0 } seen)
        {
            sb.AppendLine($"**Warning: {seen.Overlapping} of the {seen.Examples} test texts ({Pct(seen.Fraction)}) appear word for word in the corpus the " +
                          "starting weights were pretrained on.** The model may have memorised them, so the test score can overstate how it does on " +
                          "text it has never seen; see \"Evaluation data\".");
            sb.AppendLine();
        }
        if (r.PerClass.Count == r.ClassNames.Count && r.ClassNames.Count > 0)
        {
            sb.AppendLine("Per-class scores on the test split:");
            sb.AppendLine();
            sb.AppendLine("| class | precision | recall | F1 | support |");
            sb.AppendLine("| --- | --- | --- | --- | --- |");
            foreach (var pc in r.PerClass) sb.AppendLine($"| {Esc(pc.Class)} | {F(pc.Precision)} | {F(pc.Recall)} | {F(pc.F1)} | {pc.Support} |");
            sb.AppendLine();
        }
        else if (r.PerClassAccuracy.Count == r.ClassNames.Count && r.ClassNames.Count > 0)
        {
            sb.AppendLine("Per-class test accuracy:");
            sb.AppendLine();
            sb.AppendLine("| class | accuracy |");
            sb.AppendLine("| --- | --- |");
            for (int i = 0; i < r.ClassNames.Count; i++) sb.AppendLine($"| {Esc(r.ClassNames[i])} | {Pct(r.PerClassAccuracy[i])} |");
            sb.AppendLine();
        }

        AppendTasks(sb, c);

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
            _ when c.Strategy is { Info.UsesPretrainedWeights: false } =>
                $"**The model was randomly initialised (seed {h.Seed}), on purpose:** {Esc(c.Strategy.Title)} is the baseline that " +
                "shows what the architecture learns from this data alone, without pretraining.",
            // What a random start measures depends on what trained: a head alone on frozen random features, or the
            // whole network, which makes the run a scratch baseline in all but name.
            _ =>
                $"**The backbone was randomly initialised (seed {h.Seed}); no pretrained weights were used.** " +
                $"The official weights of `{c.Model.Id}` were not imported on this installation, so this run measures " +
                (r.TrainableParameters == 0 ? "what frozen random features give without any training"
                    : r.TrainableParameters < r.TotalParameters ? "what the trained layers can learn on top of frozen random layers"
                    : "what the architecture learns from this data alone, as a from-scratch run would") +
                ". It says nothing about transfer from pretraining.",
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
        var hubLicence = CardFrontMatter.Licence(c);
        sb.AppendLine((string.IsNullOrWhiteSpace(c.Model.License?.Name) ? "The base model's licence is not recorded" : $"The base model's licence: {Esc(c.Model.License.Name)}") +
                      (hubLicence == "unknown"
                          ? "; the metadata block says `license: unknown`, since it is not one identifier the Hub lists. "
                          : $"; the metadata block repeats it (`license: {hubLicence}`), as transformers' Trainer does for a fine-tuned model. ") +
                      $"The training data's licence ({(string.IsNullOrWhiteSpace(c.Dataset.License) ? "not recorded" : Esc(c.Dataset.License))}) may add terms; whoever publishes the model decides.");
        sb.AppendLine();
        if (r.TrainedWeights is { } tw)
        {
            // The hash lets a reviewer check a downloaded file against this card (sha256sum).
            sb.AppendLine($"Fine-tuned weights: `{tw.File}`, the whole trained model (backbone and its {r.ClassNames.Count}-class head, reference key names) " +
                          $"as F32 safetensors, {tw.Bytes.ToString("N0", Inv)} bytes, sha256 `{tw.Sha256}`. " +
                          $"Download it from the run's page or `GET /api/runs/{c.RunId}/weights.safetensors`.");
            sb.AppendLine();
        }

        AppendStrategy(sb, c);

        AppendEvaluationData(sb, c);

        sb.AppendLine("## Training data");
        sb.AppendLine();
        var isText = c.Dataset.Modality == DatasetModality.Text;
        sb.AppendLine(isText
            ? $"- Dataset: {Esc(c.Dataset.Title)} (`{c.Dataset.Id}`), {c.Dataset.Examples} texts."
            : $"- Dataset: {Esc(c.Dataset.Title)} (`{c.Dataset.Id}`), {c.Dataset.Examples} examples, {c.Dataset.Width}x{c.Dataset.Height}, {c.Dataset.Channels} channel(s).");
        sb.AppendLine($"- Provenance: {Esc(c.Dataset.Provenance)}");
        sb.AppendLine($"- Licence: {Esc(c.Dataset.License)}");
        sb.AppendLine($"- Split (stratified, seed {c.Dataset.SplitSeed}): {r.TrainExamples} used for training" +
                      (h.LabelsPerClass is { } budget ? $" (label budget: at most {budget} per class, drawn stratified with seed {h.Seed})" : "") +
                      (h.TrainLimit > 0 ? $" (limited to {h.TrainLimit})" : "") +
                      // A domain-adaptation run tests on the target's test split, not on this dataset's.
                      (c.Target is null ? $", {r.ValExamples} validation, {r.TestExamples} test." : $", {r.ValExamples} validation; its test split was not used."));
        if (r.TrainExamplesPerClass.Count == c.Dataset.ClassNames.Count && r.TrainExamplesPerClass.Count > 0)
            sb.AppendLine($"- Training examples per class: {string.Join(", ", c.Dataset.ClassNames.Select((n, i) => $"{Esc(n)} {r.TrainExamplesPerClass[i]}"))}.");
        if (c.Target is { } target)
            sb.AppendLine($"- Target domain: {Esc(target.Title)} (`{target.Id}`), {target.Splits.Train} training examples used **without their labels**; " +
                          $"its validation and test labels served evaluation only (the test results above are on the target's test split). Provenance: {Esc(target.Provenance)}; licence: {Esc(target.License)}.");
        sb.AppendLine();

        sb.AppendLine("## Training procedure");
        sb.AppendLine();
        sb.AppendLine($"- Optimiser: {Optimiser(h)}; base learning rate {h.LearningRate.ToString("G4", Inv)}{(c.Strategy?.Info.Trains == false ? " (unused: this strategy takes no gradient steps)" : "")}, {Schedule(h)}.");
        sb.AppendLine($"- Epochs {h.Epochs}{(r.StoppedAtEpoch is { } stop ? $" (early stopping ended training after epoch {stop}, patience {h.EarlyStoppingPatience})" : h.EarlyStoppingPatience > 0 ? $" (early stopping patience {h.EarlyStoppingPatience}, not triggered)" : "")}, batch size {h.BatchSize}, seed {h.Seed}.");
        var extras = new List<string>();
        if (h.LabelSmoothing > 0) extras.Add($"label smoothing {h.LabelSmoothing.ToString("G3", Inv)}");
        if (h.GradientClipNorm > 0) extras.Add($"gradients clipped to a global L2 norm of {h.GradientClipNorm.ToString("G3", Inv)}");
        if (h.ClassBalance == ClassBalance.WeightedLoss) extras.Add("cross-entropy weighted by inverse class frequency");
        if (h.ClassBalance == ClassBalance.WeightedSampler) extras.Add("class-balanced sampling (each class equally likely, with replacement)");
        if (extras.Count > 0) sb.AppendLine($"- Also: {string.Join("; ", extras)}.");
        var pre = c.Model.Preprocessing;
        if (isText && c.Model.Text is { } t)
            sb.AppendLine($"- Input: WordPiece tokens of the model's `{Esc(t.VocabFile)}` ({(t.Lowercase ? "lower-cased" : "cased")}" +
                          $"{((t.StripAccents ?? t.Lowercase) ? ", accents stripped" : "")}), at most {Math.Min(h.MaxTokens, t.MaxLength)} tokens with [CLS] and [SEP]; longer texts keep their beginning. Batches are padded to their longest text, with an attention mask.");
        else
        {
            var resize = pre.ResizeSize is int rs ? $"shorter side resized by the model's {rs}/{pre.InputSize} ratio with {Esc(pre.Interpolation)} interpolation, then centre-cropped"
                : $"resized with {Esc(pre.Interpolation)} interpolation";
            sb.AppendLine($"- Input: {h.ImageSize}x{h.ImageSize}, {resize}; {PreprocessingText.Describe(pre, h.ImageSize)}.");
            sb.AppendLine(h.Augment
                ? $"- Training augmentations (seeded, as recorded with the run at launch): {Augmentations(h.Augmentation ?? AugmentationProfile.For(c.Dataset))}; none for validation and test."
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
            var own = c.Strategy?.Info.Metrics.Where(m => !m.PerStep && c.Epochs.Any(e => e.Values.ContainsKey(m.Name))).ToList() ?? [];
            if (own.Count > 0)
            {
                sb.AppendLine($"| epoch | {string.Join(" | ", own.Select(m => Esc(m.Label)))} |");
                sb.AppendLine($"| --- | {string.Join(" | ", own.Select(_ => "---"))} |");
                foreach (var e in c.Epochs) sb.AppendLine($"| {e.Epoch} | {string.Join(" | ", own.Select(m => F(e[m.Name])))} |");
            }
            sb.AppendLine();
        }

        sb.AppendLine("## Limitations");
        sb.AppendLine();
        sb.AppendLine($"- Evaluated only on the test split of `{(c.Target ?? c.Dataset).Id}`; accuracy on other data ({(isText ? "other sources, topics, writing styles" : "other writers, scanners, colours")}) is unknown.");
        if (!c.Weights.HasWeights())
            sb.AppendLine("- The backbone is untrained: do not read these numbers as the architecture's transfer-learning quality.");
        sb.AppendLine("- Not for decisions about people, and not validated for any safety-relevant use.");
        return sb.ToString();
    }

    /// <summary>What the results were measured on (Mitchell et al.'s "evaluation data"), from the run's record: the
    /// split, its size and class balance, and what the split did and did not decide.</summary>
    static void AppendEvaluationData(StringBuilder sb, CardInput c)
    {
        var r = c.Result;
        var data = c.Target ?? c.Dataset;
        sb.AppendLine("## Evaluation data");
        sb.AppendLine();
        sb.AppendLine($"- Test split of {Esc(data.Title)} (`{data.Id}`): {r.TestExamples} examples, held out from training and from model " +
                      $"selection{(c.Target is null ? "" : " (the target domain's test split)")}; it is the same split for every run on this dataset (split seed {data.SplitSeed}).");
        if (r.PerClass.Count > 0 && r.PerClass.Sum(p => p.Support) == r.TestExamples)
            sb.AppendLine($"- Test examples per class: {string.Join(", ", r.PerClass.Select(p => $"{Esc(p.Class)} {p.Support}"))}.");
        sb.AppendLine(r.Selection == ModelSelection.LastEpoch
            ? "- Validation split: reported per epoch, not used to choose the weights (the last epoch's are tested)."
            : $"- Validation split ({r.ValExamples} examples): chose the epoch whose weights are tested (epoch {r.BestEpoch}).");
        if (r.PretrainingOverlap is { } o)
        {
            string Of(SplitOverlap x) => $"{x.Overlapping} of {x.Examples} {x.Split} texts ({Pct(x.Fraction)})";
            sb.AppendLine($"- Pretraining overlap: the starting weights were pretrained on {Esc(o.Corpus)}. " +
                          (o.Any ? $"Word for word, that corpus holds {string.Join(", ", o.Splits.Select(Of))}"
                                 : $"None of this dataset's {o.Splits.Sum(x => x.Examples)} texts is in it word for word") +
                          $" (compared after lower-casing and dropping accents and punctuation: a text counts when it, or one of its sentences of at least {TextFingerprint.MinSentenceWords} words, " +
                          $"is a document or a sentence of the corpus; {o.CorpusUnits:N0} of those are recorded).");
            foreach (var e in o.Examples) sb.AppendLine($"  - For example: \"{Esc(e)}\"");
        }
        sb.AppendLine($"- Factors: results are broken down by class only; {(data.Modality == DatasetModality.Text ? "source, topic and writing style" : "writer, device, lighting and background")} " +
                      "are not recorded for this dataset, so no other factor was evaluated.");
        sb.AppendLine();
    }

    /// <summary>One line naming the run this one learnt from, so a reader can open its card too.</summary>
    static void AppendSourceRun(StringBuilder sb, CardInput c, CardSourceRun source)
    {
        var role = c.Strategy?.Info.SourceRun?.Label is { Length: > 0 } label ? label.ToLowerInvariant() : "source run";
        sb.AppendLine($"It learnt from run `{source.RunId}` (the {Esc(role)}): model `{Esc(source.ModelId)}` trained on `{Esc(source.DatasetId)}`" +
                      (source.TestAccuracy is { } acc ? $", test accuracy {Pct(acc)}." : "."));
        sb.AppendLine();
    }

    /// <summary>
    /// A run with several tasks: each task's dataset, classes and scores, beside a single-task run of the same model,
    /// data, budget and seed where one had succeeded when the card was written; then, for continual learning, the
    /// accuracy matrix with average forgetting. The results table above is task 1's.
    /// </summary>
    static void AppendTasks(StringBuilder sb, CardInput c)
    {
        var r = c.Result;
        if (r.Tasks.Count > 0)
        {
            var rows = Runs.Compare.TaskComparison.Rows(r, c.TaskPeers);
            sb.AppendLine("## Tasks");
            sb.AppendLine();
            sb.AppendLine($"This run learnt {r.Tasks.Count} tasks, each with its own head; the results above are task 1's. Each task's head was tested on its own dataset's test split.");
            sb.AppendLine();
            sb.AppendLine("| task | dataset | classes | training examples | val accuracy | test accuracy | macro-F1 | single-task run | difference |");
            sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var t in rows)
            {
                var single = t.Single is { } p ? $"{Pct(p.TestAccuracy)} (`{p.RunId}`, {Esc(p.Strategy)})" : "none";
                var diff = t.Difference is { } d ? $"{(d >= 0 ? "+" : "")}{(d * 100).ToString("F2", Inv)} points" : "–";
                sb.AppendLine($"| {t.Index} | `{Esc(t.Result.DatasetId)}` | {t.Result.ClassNames.Count} ({Esc(Names(t.Result.ClassNames))}) | {t.Result.TrainExamples} | " +
                              $"{(double.IsFinite(t.Result.ValAccuracy) ? Pct(t.Result.ValAccuracy) : "–")} | {Pct(t.Result.TestAccuracy)} ({t.Result.TestExamples} examples) | " +
                              $"{F(t.Result.MacroF1)} | {single} | {diff} |");
            }
            sb.AppendLine();
            sb.AppendLine(rows.Any(t => t.Single is not null)
                ? $"Single-task runs: the most recent succeeded run of `{Esc(c.Model.Id)}` on that dataset alone with the same label budget and seed (seed {c.Request.HyperParameters.Seed}); a negative difference means sharing the backbone cost that task accuracy."
                : $"No single-task run of `{Esc(c.Model.Id)}` with the same label budget and seed had succeeded on these datasets when this card was written, so whether sharing helped is not measured here.");
            sb.AppendLine();
        }
        if (r.TaskMatrix is { Accuracy.Count: > 0 } m)
        {
            sb.AppendLine("### Accuracy matrix");
            sb.AppendLine();
            sb.AppendLine("Test accuracy on each task (columns) after training each task in order (rows); – where not measured.");
            sb.AppendLine();
            sb.AppendLine($"| after training | {string.Join(" | ", m.Tasks.Select((t, i) => $"task {i + 1} (`{Esc(t)}`)"))} |");
            sb.AppendLine($"| --- | {string.Join(" | ", m.Tasks.Select(_ => "---"))} |");
            for (int j = 0; j < m.Accuracy.Count; j++)
            {
                var row = m.Accuracy[j];
                var label = j < m.Tasks.Count ? $"task {j + 1} (`{Esc(m.Tasks[j])}`)" : $"step {j + 1}";
                sb.AppendLine($"| {label} | {string.Join(" | ", m.Tasks.Select((_, i) => row.ElementAtOrDefault(i) is { } a ? Pct(a) : "–"))} |");
            }
            sb.AppendLine();
            sb.AppendLine($"- Average forgetting (best earlier accuracy on a task minus its accuracy at the end, averaged over all tasks but the last; Chaudhry et al. 2018): " +
                          (m.AverageForgetting is { } f ? $"{(f * 100).ToString("F2", Inv)} points." : "not measured (fewer than two tasks were learnt)."));
            sb.AppendLine($"- Final average accuracy over all tasks: {(m.FinalAverage is { } fa ? Pct(fa) : "not measured (the last row is incomplete)")}.");
            sb.AppendLine();
        }
    }

    static string Names(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(10)) + (names.Count > 10 ? $" and {names.Count - 10} more" : "");

    static string StrategyTitle(CardInput c) => c.Strategy?.Title ?? c.Request.Strategy;

    /// <summary>A distilled model beside its teacher, from what the run measured: accuracy on the same test split,
    /// parameters, weights file size and latency (both models in one interleaved measurement).</summary>
    static void AppendStudentAndTeacher(StringBuilder sb, RunResult r, TeacherComparison t)
    {
        static string Ratio(double student, double teacher) => teacher > 0 && double.IsFinite(student / teacher) ? (student / teacher).ToString("0.##", Inv) + "×" : "–";
        static string Mb(long bytes) => (bytes / 1e6).ToString("0.##", Inv) + " MB";
        var studentBytes = r.TrainedWeights?.Bytes ?? t.StudentTensorBytes;
        sb.AppendLine("### Student and teacher");
        sb.AppendLine();
        sb.AppendLine($"The teacher is run `{t.TeacherRunId}` ({Esc(t.TeacherModelId)}); both were measured by this run, on the same test split and machine.");
        sb.AppendLine();
        sb.AppendLine("| | student (this run) | teacher | student / teacher |");
        sb.AppendLine("| --- | --- | --- | --- |");
        sb.AppendLine($"| test accuracy | {Pct(r.TestAccuracy)} | {Pct(t.TeacherTestAccuracy)} | {(r.TestAccuracy - t.TeacherTestAccuracy >= 0 ? "+" : "")}{((r.TestAccuracy - t.TeacherTestAccuracy) * 100).ToString("0.00", Inv)} points |");
        sb.AppendLine($"| parameters | {r.TotalParameters.ToString("N0", Inv)} | {t.TeacherParameters.ToString("N0", Inv)} | {Ratio(r.TotalParameters, t.TeacherParameters)} |");
        sb.AppendLine($"| weights file (F32 safetensors) | {Mb(studentBytes)}{(r.TrainedWeights is null ? " (tensors)" : "")} | {Mb(t.TeacherWeightsBytes)} | {Ratio(studentBytes, t.TeacherWeightsBytes)} |");
        sb.AppendLine($"| latency, batch 1 ({Esc(t.LatencyDevice)}, median of {t.LatencyRepeats}, interleaved) | {t.StudentLatencyMs.ToString("0.##", Inv)} ms | {t.TeacherLatencyMs.ToString("0.##", Inv)} ms | {Ratio(t.StudentLatencyMs, t.TeacherLatencyMs)} |");
        sb.AppendLine();
        sb.AppendLine($"The student predicts the teacher's class on {Pct(t.Agreement)} of the test examples." +
                      (t.TeacherRecordedTestAccuracy is { } recorded ? $" The teacher's own run recorded {Pct(recorded)} on its test split." : ""));
        sb.AppendLine();
    }

    /// <summary>The strategy section, generated from its description: what it does, its options, what it reported.</summary>
    static void AppendStrategy(StringBuilder sb, CardInput c)
    {
        sb.AppendLine($"## Strategy: {Esc(StrategyTitle(c))}");
        sb.AppendLine();
        if (c.Strategy is not { } s) { sb.AppendLine($"Strategy `{Esc(c.Request.Strategy)}`."); sb.AppendLine(); return; }
        sb.AppendLine(Esc(s.Info.Explanation));
        sb.AppendLine();
        if (s.Options.Count > 0 && c.Options is { } o)
        {
            sb.AppendLine("| option | value |");
            sb.AppendLine("| --- | --- |");
            foreach (var option in s.Options)
            {
                var value = StrategyOptionsReader.Value(o, option);
                var shown = option.Kind == OptionKind.Choice
                    ? option.Choices.FirstOrDefault(ch => ch.Value == value?.ToString())?.Label ?? value?.ToString()
                    : value is double d ? d.ToString("G4", Inv) : value is bool b ? (b ? "yes" : "no") : Convert.ToString(value, Inv);
                var isDefault = Equals(value?.ToString(), option.Default.ToString());
                sb.AppendLine($"| {Esc(option.Label)} | {Esc(shown ?? "")}{(isDefault ? " (default)" : "")} |");
            }
            sb.AppendLine();
        }
        foreach (var fact in c.Result.StrategyFacts) sb.AppendLine($"- {Esc(fact.Label)}: {Esc(fact.Value)}");
        if (c.Result.StrategyFacts.Count > 0) sb.AppendLine();
        if (c.Result.Teacher is { } teacher) AppendStudentAndTeacher(sb, c.Result, teacher);
        if (c.Result.Selection == ModelSelection.LastEpoch)
        {
            sb.AppendLine("Model selection: none. The last epoch's weights were evaluated; no validation set chose them.");
            sb.AppendLine();
        }
        if (c.Result.ResumedAfterEpochs.Count > 0)
        {
            sb.AppendLine($"The run was interrupted and resumed from its checkpoint after epoch {string.Join(", ", c.Result.ResumedAfterEpochs)}.");
            sb.AppendLine();
        }
    }

    static string Optimiser(HyperParameters h) => h.Optimizer == OptimizerKind.Sgd
        ? $"SGD with {(h.Nesterov ? "Nesterov " : "")}momentum {h.Momentum.ToString("G3", Inv)}, weight decay {h.EffectiveWeightDecay.ToString("G3", Inv)} (not on norms and biases)"
        : $"AdamW, weight decay {h.EffectiveWeightDecay.ToString("G3", Inv)} (not on norms and biases)";

    static string Schedule(HyperParameters h) => h.Schedule switch
    {
        LearningRateSchedule.WarmupCosine => $"linear warmup over {(h.WarmupFraction * 100).ToString("G3", Inv)} % of the steps, then cosine decay to zero",
        LearningRateSchedule.OneCycle => $"one-cycle (rising to the peak over {(h.WarmupFraction > 0 ? h.WarmupFraction * 100 : 25).ToString("G3", Inv)} % of the steps, then cosine down)",
        _ => "constant rate",
    };

    static string Augmentations(AugmentationProfile a)
    {
        var parts = new List<string> { $"random resized crop keeping {(a.MinCropScale * 100).ToString("G3", Inv)}-100 % of the area" };
        parts.Add(a.HorizontalFlip ? "horizontal flips" : "no flips");
        parts.Add(a.MaxRotationDegrees > 0 ? $"rotation within ±{a.MaxRotationDegrees.ToString("G3", Inv)}°" : "no rotation");
        parts.Add(a.ColorJitter > 0 ? $"brightness, contrast and (colour images) saturation jitter ±{(a.ColorJitter * 100).ToString("G3", Inv)} %" : "no colour jitter");
        return string.Join(", ", parts);
    }

    static string F(double v, int digits = 4) => double.IsFinite(v) ? v.ToString("F" + digits, Inv) : v.ToString(Inv);
    static string Pct(double v) => (v * 100).ToString("F2", Inv) + " %";

    /// <summary>User-provided text goes into Markdown; keep it from forming tables, links or HTML.</summary>
    internal static string Esc(string s)
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

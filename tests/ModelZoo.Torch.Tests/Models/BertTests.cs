using System.Text.Json;
using ModelZoo.Core.Catalog;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Models;

public class BertTests
{
    // Small on purpose: every size is built from the same code, and the counts below are checked at bert-base size.
    const string TinyConfig = """
        { "model_type": "bert", "vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
          "intermediate_size": 37, "hidden_act": "gelu", "max_position_embeddings": 24, "type_vocab_size": 3,
          "pad_token_id": 0, "layer_norm_eps": 1e-12, "initializer_range": 0.2 }
        """;

    static ArchitectureOptions Tiny(int numClasses = 5) => new(numClasses, TinyConfig);

    public static TheoryData<string> TextArchitectures()
    {
        var d = new TheoryData<string>();
        foreach (var a in ArchitectureRegistry.Default.All.Where(a => a.Modality == Modality.Text)) d.Add(a.Name);
        return d;
    }

    static Tensor Ids(long batch, long length, long seed = 1)
    {
        var g = new Generator((ulong)seed);
        return randint(1, 99, [batch, length], generator: g, dtype: ScalarType.Int64);
    }

    /// <summary>The tiny config; the fixed-shape variants (<see cref="Bert.Variants"/>) refuse another shape, so they are
    /// built at their own (22 M parameters, still quick for a few tokens).</summary>
    static Bert CreateTiny(string arch, int numClasses = 5) =>
        (Bert)ArchitectureRegistry.Default.Create(arch, Bert.Variants.ContainsKey(arch) ? new ArchitectureOptions(numClasses) : Tiny(numClasses));

    [Fact]
    public void Registry_HasTheThreeBertModels_AndTheFixedShapeEncoders_AsText()
    {
        var names = ArchitectureRegistry.Default.All.Where(a => a.Family == "bert").Select(a => (a.Name, a.Modality)).ToList();
        names.ShouldBe([("bert", Modality.Text), ("bert_mlm", Modality.Text), ("bert_encoder", Modality.Text),
                        ("minilm_l6", Modality.Text), ("arctic_embed_xs", Modality.Text)], ignoreOrder: true);
    }

    [Theory]
    [MemberData(nameof(TextArchitectures))]
    public void ForwardBackward_ReachesEveryParameter(string arch)
    {
        using var scope = NewDisposeScope();
        using var m = CreateTiny(arch);
        var ids = Ids(2, 7);
        var mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 0, 0 }, { 1, 1, 1, 1, 1, 1, 1 } });
        // A third segment where the config has one (the tiny config's type_vocab_size is 3, the variants' 2).
        var types = tensor(new long[,] { { 0, 0, 0, 1, 1, 1, 1 }, { 0, 0, 0, 0, 2, 2, 2 } }).clamp_max(m.Config.TypeVocabSize - 1);
        var y = m.ForwardText(ids, mask, types);
        long[] expected = arch switch { "bert" => [2, 5], "bert_mlm" => [2, 7, 99], _ => [2, m.NumFeatures] };
        y.shape.ShouldBe(expected);
        y.sum().backward();
        m.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name).ShouldBeEmpty();
    }

    [Theory]
    [MemberData(nameof(TextArchitectures))]
    public void Call_WithPlainIds_IsForwardTextWithoutPaddingAndOneSegment(string arch)
    {
        using var scope = NewDisposeScope();
        using var m = CreateTiny(arch);
        m.eval();
        var ids = Ids(3, 9);
        var viaCall = m.call(ids);
        viaCall.allclose(m.ForwardText(ids, ones_like(ids), zeros_like(ids)), rtol: 0, atol: 1e-6).ShouldBeTrue();
        m.ForwardFeatures(ids).shape.ShouldBe([3L, 9L, (long)m.NumFeatures]);
    }

    [Theory]
    [MemberData(nameof(TextArchitectures))]
    public void Call_WithPackedTextBatch_EqualsForwardText(string arch)
    {
        using var scope = NewDisposeScope();
        using var m = CreateTiny(arch);
        m.eval();
        var ids = Ids(2, 6);
        var mask = tensor(new long[,] { { 1, 1, 1, 0, 0, 0 }, { 1, 1, 1, 1, 1, 1 } });
        var types = tensor(new long[,] { { 0, 0, 1, 1, 1, 1 }, { 0, 1, 1, 1, 2, 2 } }).clamp_max(m.Config.TypeVocabSize - 1);
        var packed = TextBatch.Pack(ids, mask, types);
        packed.shape.ShouldBe([2L, 3L, 6L]);
        m.call(packed).allclose(m.ForwardText(ids, mask, types), rtol: 0, atol: 1e-6).ShouldBeTrue();
    }

    [Fact]
    public void TextBatch_RejectsShapesThatAreNeitherIdsNorPacked()
    {
        using var scope = NewDisposeScope();
        Should.Throw<ArgumentException>(() => TextBatch.Unpack(zeros(2, 4, 6, dtype: ScalarType.Int64)));
        Should.Throw<ArgumentException>(() => TextBatch.Pack(zeros(2, 6, dtype: ScalarType.Int64), ones(2, 5)));
    }

    [Fact]
    public void SequenceClassifier_HeadReset_KeepsTheEncoder_AndPreLogitsFeedTheClassifier()
    {
        using var scope = NewDisposeScope();
        using var m = CreateTiny("bert");
        m.eval();
        var ids = Ids(2, 5);
        var before = m.ForwardFeatures(ids);
        m.ResetClassifier(3);
        m.NumClasses.ShouldBe(3);
        m.call(ids).shape.ShouldBe([2L, 3L]);
        m.ForwardFeatures(ids).allclose(before).ShouldBeTrue("the encoder is untouched");
        m.state_dict()["classifier.weight"].shape.ShouldBe([3L, 32L]);
        var preLogits = m.ForwardHead(before, preLogits: true);
        preLogits.shape.ShouldBe([2L, (long)m.NumFeatures]);
        m.ForwardClassifier(preLogits).allclose(m.ForwardHead(before)).ShouldBeTrue();
        m.ClassifierParameters().Sum(p => p.numel()).ShouldBe(3 * 32 + 3);
    }

    [Fact]
    public void MaskedLM_HeadReset_StartsANewVocabulary_WithTheDecoderStillTied()
    {
        using var scope = NewDisposeScope();
        using var m = (BertForMaskedLM)CreateTiny("bert_mlm");
        m.ResetClassifier(50);
        m.NumClasses.ShouldBe(50);
        m.Config.VocabSize.ShouldBe(50);
        ReferenceEquals(m.DecoderWeight, m.WordEmbeddingWeight).ShouldBeTrue();
        m.WordEmbeddingWeight.shape.ShouldBe([50L, 32L]);
        var sd = m.state_dict();
        sd["bert.embeddings.word_embeddings.weight"].shape.ShouldBe([50L, 32L]);
        sd["cls.predictions.bias"].shape.ShouldBe([50L]);
        var ids = randint(1, 50, [2, 4], dtype: ScalarType.Int64);
        m.eval();
        var features = m.ForwardFeatures(ids);
        var logits = m.ForwardHead(features);
        logits.shape.ShouldBe([2L, 4L, 50L]);
        m.ForwardClassifier(m.ForwardHead(features, preLogits: true)).allclose(logits).ShouldBeTrue();
    }

    [Fact]
    public void Encoder_HasNoClassifier_AndSaysWhatToUseInstead()
    {
        using var m = CreateTiny("bert_encoder");
        m.NumClasses.ShouldBe(0);
        m.ClassifierParameters().ShouldBeEmpty();
        Should.Throw<NotSupportedException>(() => m.ResetClassifier(3)).Message.ShouldContain("'bert'");
    }

    [Theory]
    [InlineData("bert", new[] { "embeddings", "encoder.layer.0", "encoder.layer.1", "pooler", "head" })]
    [InlineData("bert_mlm", new[] { "embeddings", "encoder.layer.0", "encoder.layer.1", "head" })]
    [InlineData("bert_encoder", new[] { "embeddings", "encoder.layer.0", "encoder.layer.1", "pooler" })]
    public void ParameterGroups_CoverEveryParameterOnce_OneStagePerLayer(string arch, string[] stages)
    {
        using var m = CreateTiny(arch);
        var groups = m.ParameterGroups();
        groups.Select(g => g.Name).ShouldBe(stages);
        groups.ShouldAllBe(g => g.Parameters.Count > 0);
        var grouped = groups.SelectMany(g => g.Parameters.Select(p => p.Name)).ToList();
        grouped.ShouldBe(m.named_parameters().Select(p => p.name).ToList(), ignoreOrder: true);
        grouped.Distinct().Count().ShouldBe(grouped.Count);
        groups.Single(g => g.Name == "encoder.layer.1").Parameters.ShouldAllBe(p => p.Name.Contains("encoder.layer.1."));
    }

    /// <summary>The keys transformers uses for one encoder layer, 16 tensors.</summary>
    static IEnumerable<string> LayerKeys(string prefix, int i) =>
        from sub in new[]
        {
            "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
            "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm",
        }
        from p in new[] { "weight", "bias" }
        select $"{prefix}encoder.layer.{i}.{sub}.{p}";

    static IEnumerable<string> BaseKeys(string prefix, int layers, bool pooler)
    {
        foreach (var e in new[] { "word_embeddings.weight", "position_embeddings.weight", "token_type_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias" })
            yield return $"{prefix}embeddings.{e}";
        for (int i = 0; i < layers; i++)
            foreach (var k in LayerKeys(prefix, i)) yield return k;
        if (pooler) { yield return $"{prefix}pooler.dense.weight"; yield return $"{prefix}pooler.dense.bias"; }
    }

    // Key sets of the files transformers saves (save_pretrained / safetensors): for BertForSequenceClassification they
    // are the 57 tensors of tests/fixtures/bert_dev_seed7.safetensors (3 layers). BertForMaskedLM's file leaves
    // out cls.predictions.decoder.weight/bias, which are tied to the word embeddings and cls.predictions.bias.
    // No position_ids: transformers >= 4.31 keeps it as a non-persistent buffer, and the fixture has none.
    [Theory]
    [InlineData("bert")]
    [InlineData("bert_mlm")]
    [InlineData("bert_encoder")]
    public void StateDictKeys_AreTransformersKeys(string arch)
    {
        using var m = CreateTiny(arch);
        var expected = arch switch
        {
            "bert" => BaseKeys("bert.", 2, pooler: true).Concat(["classifier.weight", "classifier.bias"]),
            "bert_mlm" => BaseKeys("bert.", 2, pooler: false).Concat([
                "cls.predictions.bias", "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
                "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias"]),
            _ => BaseKeys("", 2, pooler: true),
        };
        var keys = m.state_dict().Keys.ToList();
        keys.ShouldBe(expected.ToList(), ignoreOrder: true);
        keys.Count.ShouldBe(arch switch { "bert" => 5 + 2 * 16 + 2 + 2, "bert_mlm" => 5 + 2 * 16 + 5, _ => 5 + 2 * 16 + 2 });
    }

    [Fact]
    public void StateDictKeys_OfTheFixtureConfig_AreTheFixtureFilesKeyCount()
    {
        var config = File.ReadAllText(TestFixtures.PathOf("bert_dev_seed7.config.json"));
        using var m = ArchitectureRegistry.Default.Create("bert", new ArchitectureOptions(ConfigJson: config));
        m.NumClasses.ShouldBe(4); // from id2label
        m.state_dict().Count.ShouldBe(57); // the safetensors header lists 57 tensors (plus __metadata__)
        m.state_dict().Keys.ShouldBe(BaseKeys("bert.", 3, pooler: true).Concat(["classifier.weight", "classifier.bias"]).ToList(), ignoreOrder: true);
    }

    // bert-base-uncased (vocab 30522, hidden 768, 12 layers, intermediate 3072, 512 positions, 2 token types):
    //   embeddings 30522*768 + 512*768 + 2*768 + LayerNorm 2*768            = 23,837,184
    //   one layer  Q,K,V 3*(768*768+768) + attention.output 768*768+768 + LayerNorm 1,536
    //              + intermediate 768*3072+3072 + output 3072*768+768 + LayerNorm 1,536 = 7,087,872; x12 = 85,054,464
    //   pooler     768*768+768                                              =    590,592
    // BertModel = 109,482,240, the figure transformers' model.num_parameters() reports.
    // BertForSequenceClassification (2 labels) adds 768*2+2 = 1,538 -> 109,483,778.
    // BertForMaskedLM drops the pooler and adds transform.dense 590,592, transform.LayerNorm 1,536 and the output bias
    // 30,522; the decoder weight is the word embeddings, counted once -> 109,514,298.
    [Theory]
    [InlineData("bert_encoder", 109_482_240L)]
    [InlineData("bert", 109_483_778L)]
    [InlineData("bert_mlm", 109_514_298L)]
    public void ParameterCount_OfBertBaseUncased_EqualsTransformers(string arch, long expected)
    {
        using var m = ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions(NumClasses: 2));
        m.ParameterCount().ShouldBe(expected);
    }

    [Fact]
    public void DefaultConfig_IsBertBaseUncased()
    {
        var c = BertConfig.BertBaseUncased;
        (c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize).ShouldBe((30522, 768, 12, 12, 3072));
        (c.MaxPositionEmbeddings, c.TypeVocabSize, c.HiddenAct, c.LayerNormEps, c.PadTokenId).ShouldBe((512, 2, "gelu", 1e-12, (int?)0));
    }

    [Fact]
    public void PaddedKeys_DoNotChangeTheOtherPositions()
    {
        using var scope = NewDisposeScope();
        using var m = (Bert)CreateTiny("bert_encoder");
        m.eval();
        var ids = Ids(1, 8, seed: 3);
        var types = tensor(new long[,] { { 0, 0, 0, 1, 1, 1, 1, 1 } });
        var mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 0, 0, 0 } });
        var other = ids.clone();
        other[0, TensorIndex.Slice(5, null)] = tensor(new long[] { 7, 42, 0 });

        var a = m.Encoder.Encode(ids, mask, types);
        var b = m.Encoder.Encode(other, mask, types);
        var keep = TensorIndex.Slice(null, 5);
        a[TensorIndex.Colon, keep].allclose(b[TensorIndex.Colon, keep], rtol: 0, atol: 1e-6).ShouldBeTrue("padding must not leak into real tokens");
        // ... and the real tokens see exactly what they see without any padding at all.
        var unpadded = m.Encoder.Encode(ids[TensorIndex.Colon, keep], null, types[TensorIndex.Colon, keep]);
        a[TensorIndex.Colon, keep].allclose(unpadded, rtol: 0, atol: 1e-5).ShouldBeTrue();
        // Without the mask the padded tokens do change them.
        m.Encoder.Encode(other, null, types)[TensorIndex.Colon, keep].allclose(a[TensorIndex.Colon, keep], rtol: 0, atol: 1e-4).ShouldBeFalse();
    }

    [Fact]
    public void TokenTypes_ChangeTheOutput()
    {
        using var scope = NewDisposeScope();
        using var m = CreateTiny("bert");
        m.eval();
        var ids = Ids(1, 6);
        var oneSegment = m.ForwardText(ids);
        var twoSegments = m.ForwardText(ids, tokenTypeIds: tensor(new long[,] { { 0, 0, 0, 1, 1, 1 } }));
        oneSegment.allclose(twoSegments, rtol: 0, atol: 1e-4).ShouldBeFalse();
        m.ForwardText(ids, tokenTypeIds: zeros_like(ids)).allclose(oneSegment, rtol: 0, atol: 0).ShouldBeTrue("default token type is 0");
    }

    [Fact]
    public void Positions_Matter_AndTooLongSequencesAreRefused()
    {
        using var scope = NewDisposeScope();
        using var m = CreateTiny("bert_encoder");
        m.eval();
        var same = full(1, 4, 5L, dtype: ScalarType.Int64);
        var h = m.ForwardFeatures(same);
        h[0, 0].allclose(h[0, 1], rtol: 0, atol: 1e-4).ShouldBeFalse("identical tokens at different positions differ");
        Should.Throw<ArgumentException>(() => m.ForwardFeatures(Ids(1, 25))).Message.ShouldContain("24 positions");
    }

    [Fact]
    public void MaskedLM_DecoderWeight_IsTheWordEmbeddingTensor()
    {
        using var scope = NewDisposeScope();
        using var m = (BertForMaskedLM)CreateTiny("bert_mlm");
        ReferenceEquals(m.DecoderWeight, m.WordEmbeddingWeight).ShouldBeTrue();
        m.DecoderWeight.storage<float>().data_ptr().ShouldBe(m.state_dict()["bert.embeddings.word_embeddings.weight"].storage<float>().data_ptr());
        m.named_parameters().Count(p => ReferenceEquals(p.parameter, m.WordEmbeddingWeight)).ShouldBe(1);
        m.state_dict().Keys.ShouldNotContain(k => k.StartsWith("cls.predictions.decoder"));

        m.eval();
        // Token 5 never occurs in the input, so only the output projection can see the change. (A constant shift
        // would not do: the transform ends in a LayerNorm, whose outputs sum to zero.)
        var ids = Ids(1, 4).where(Ids(1, 4).ne(5), 6);
        var before = m.call(ids);
        using (no_grad()) m.WordEmbeddingWeight[5].add_(randn(32));
        m.call(ids).allclose(before).ShouldBeFalse("the output projection follows the embedding matrix");

        m.to(ScalarType.Float64);
        ReferenceEquals(m.DecoderWeight, m.WordEmbeddingWeight).ShouldBeTrue("the tie survives a dtype move");
        m.DecoderWeight.dtype.ShouldBe(ScalarType.Float64);
        m.call(ids).dtype.ShouldBe(ScalarType.Float64);
    }

    [Fact]
    public void GeluVariants_AreDistinct_AndReluWorks()
    {
        using var scope = NewDisposeScope();
        var ids = Ids(1, 5);
        using var reference = CreateTiny("bert_encoder");
        var weights = reference.state_dict();
        // Same weights for every activation (not a shared seed: tests run in parallel and share torch's generator).
        Tensor Run(string act)
        {
            using var m = ArchitectureRegistry.Default.Create("bert_encoder", new(0, TinyConfig.Replace("\"gelu\"", $"\"{act}\"")));
            m.load_state_dict(weights);
            m.eval();
            return m.ForwardFeatures(ids).detach();
        }
        var gelu = Run("gelu");
        var tanh = Run("gelu_new");
        Run("gelu_pytorch_tanh").allclose(tanh, rtol: 0, atol: 1e-6).ShouldBeTrue();
        gelu.allclose(tanh, rtol: 0, atol: 1e-7).ShouldBeFalse("gelu is the exact erf form, gelu_new the tanh approximation");
        Run("relu").allclose(gelu, rtol: 0, atol: 1e-4).ShouldBeFalse();
    }

    [Theory]
    [InlineData("""{ "model_type": "roberta" }""", "roberta")]
    [InlineData("""{ "hidden_act": "swish" }""", "swish")]
    [InlineData("""{ "hidden_size": 30, "num_attention_heads": 4 }""", "multiple")]
    [InlineData("""{ "position_embedding_type": "relative_key" }""", "relative_key")]
    [InlineData("""{ "is_decoder": true }""", "decoder")]
    public void Config_RejectsWhatThisImplementationDoesNotReproduce(string json, string mentioned)
    {
        Should.Throw<NotSupportedException>(() => BertConfig.FromJson(json)).Message.ShouldContain(mentioned);
    }

    [Fact]
    public void Config_ReadsTheFixtureConfig()
    {
        var c = BertConfig.FromJson(File.ReadAllText(TestFixtures.PathOf("bert_dev_seed7.config.json")));
        (c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize).ShouldBe((600, 48, 3, 3, 96));
        (c.MaxPositionEmbeddings, c.StatedNumLabels, c.ClassifierDropout).ShouldBe((64, (int?)4, (double?)null));
    }

    /// <summary>The fixed-shape encoders are their ONNX files' models: every key the file stores, the pooler only where
    /// the file has one, and the file's parameter count (all-MiniLM-L6-v2's 22.7 M).</summary>
    [Theory]
    [InlineData("minilm_l6", true, 22_713_216)]
    [InlineData("arctic_embed_xs", false, 22_565_376)]
    public void Variants_AreTheirFilesModels_KeysPoolerAndParameterCount(string arch, bool pooler, long parameters)
    {
        using var m = (BertModel)CreateTiny(arch);
        m.Architecture.ShouldBe(arch);
        m.HasPooler.ShouldBe(pooler);
        m.state_dict().Keys.ShouldBe(BaseKeys("", 6, pooler), ignoreOrder: true);
        m.ParameterCount().ShouldBe(parameters);
        ArchitectureRegistry.Default.CountParameters(arch).ShouldBe(parameters);
        ArchitectureRegistry.Default.ForFineTuning(arch).Name.ShouldBe("bert");
        m.Config.ShapeDifferences(BertConfig.AllMiniLmL6V2).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("bert", "bert.embeddings.position_ids", null)]
    [InlineData("bert", "embeddings.position_ids", null)]
    [InlineData("bert", "bert.embeddings.LayerNorm.gamma", "bert.embeddings.LayerNorm.weight")]
    [InlineData("bert", "bert.encoder.layer.3.output.LayerNorm.beta", "bert.encoder.layer.3.output.LayerNorm.bias")]
    [InlineData("bert", "encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.0.attention.self.query.weight")]
    [InlineData("bert", "classifier.weight", "classifier.weight")]
    [InlineData("bert", "cls.predictions.transform.dense.weight", null)]
    [InlineData("bert", "cls.seq_relationship.weight", null)]
    [InlineData("bert", "something.else", "something.else")]
    [InlineData("bert_encoder", "bert.pooler.dense.weight", "pooler.dense.weight")]
    [InlineData("bert_encoder", "classifier.bias", null)]
    [InlineData("bert_mlm", "bert.pooler.dense.weight", null)]
    [InlineData("bert_mlm", "cls.predictions.decoder.weight", null)]
    [InlineData("bert_mlm", "cls.predictions.decoder.bias", null)]
    [InlineData("bert_mlm", "cls.predictions.bias", "cls.predictions.bias")]
    [InlineData("bert_mlm", "cls.predictions.transform.LayerNorm.gamma", "cls.predictions.transform.LayerNorm.weight")]
    [InlineData("bert_mlm", "cls.seq_relationship.bias", null)]
    public void CheckpointKeys_FollowTransformersLoader(string arch, string key, string? expected)
    {
        using var m = CreateTiny(arch);
        m.CheckpointKey(key).ShouldBe(expected);
    }

    [Fact]
    public void CheckpointKeys_OfItsOwnStateDict_MapToThemselves()
    {
        foreach (var arch in new[] { "bert", "bert_mlm", "bert_encoder" })
        {
            using var m = CreateTiny(arch);
            foreach (var k in m.state_dict().Keys) m.CheckpointKey(k).ShouldBe(k);
        }
    }

    [Fact]
    public void Dropout_IsActiveOnlyInTraining()
    {
        using var scope = NewDisposeScope();
        using var m = CreateTiny("bert");
        var ids = Ids(2, 6);
        m.train();
        m.call(ids).allclose(m.call(ids)).ShouldBeFalse();
        m.eval();
        m.call(ids).allclose(m.call(ids), rtol: 0, atol: 0).ShouldBeTrue();
    }

    public static TheoryData<string> TextZooEntries()
    {
        var d = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(TestFixtures.RepoRoot, "zoo")).Order())
        {
            var m = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(dir, "model.json")), ModelManifest.Json)!;
            if (ArchitectureRegistry.Default.Contains(m.Architecture) && ArchitectureRegistry.Default.Get(m.Architecture).Modality == Modality.Text)
                d.Add(Path.GetFileName(dir));
        }
        return d;
    }

    [Theory]
    [MemberData(nameof(TextZooEntries))]
    public void ZooEntry_IsValid_AndItsParameterCountIsTheModels(string id)
    {
        var m = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(TestFixtures.RepoRoot, "zoo", id, "model.json")), ModelManifest.Json)!;
        ManifestValidator.Validate(m, id).ShouldBeEmpty();
        File.Exists(Path.Combine(TestFixtures.RepoRoot, "zoo", id, "README.md")).ShouldBeTrue();
        var config = m.Config is { } c ? File.ReadAllText(Path.Combine(TestFixtures.RepoRoot, "zoo", id, c)) : null;
        using var model = ArchitectureRegistry.Default.Create(m.Architecture, new ArchitectureOptions(m.Head.NumClasses, config));
        m.Params.ShouldBe(model.ParameterCount());
        // A bare encoder (minilm_l6, arctic_embed_xs) has no classifier of its own: the entry names the head that its
        // runs train, the fine-tuning architecture's.
        var headOwner = model.ClassifierPrefix.Length > 0 ? model
            : ArchitectureRegistry.Default.Create(ArchitectureRegistry.Default.ForFineTuning(m.Architecture).Name, new ArchitectureOptions(m.Head.NumClasses, config));
        try { m.Head.Classifier.ShouldBe(headOwner.ClassifierPrefix); }
        finally { if (!ReferenceEquals(headOwner, model)) headOwner.Dispose(); }
        // For text, input_size is the maximum sequence length runs tokenise to: the position table's size, or less
        // where the model was trained on shorter inputs (all-MiniLM-L6-v2: 256 of 512).
        m.Text.ShouldNotBeNull().MaxLength.ShouldBe(m.Preprocessing.InputSize, "for text, input_size is the maximum sequence length");
        m.Preprocessing.InputSize.ShouldBeInRange(1, ((Bert)model).Config.MaxPositionEmbeddings);
        m.Preprocessing.Mean.ShouldBeEmpty("text has no pixel normalisation");
    }

    /// <summary>A pretraining-style checkpoint as older transformers files look: BertModel keys without the prefix,
    /// LayerNorm gamma/beta, the position_ids buffer, MLM and NSP heads, and no sequence classifier.</summary>
    [Fact]
    public void Import_OfAPretrainingStyleCheckpoint_LoadsTheEncoder_AndResetsTheHead()
    {
        using var scope = NewDisposeScope();
        using var source = CreateTiny("bert");
        var checkpoint = new Dictionary<string, Tensor>();
        foreach (var (k, t) in source.state_dict())
        {
            if (k.StartsWith("classifier.")) continue;
            var key = k.StartsWith("bert.embeddings.") ? k["bert.".Length..] : k;
            key = key.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta");
            checkpoint[key] = t.detach().clone();
        }
        checkpoint["bert.embeddings.position_ids"] = arange(24, dtype: ScalarType.Int64).unsqueeze(0);
        checkpoint["cls.predictions.bias"] = zeros(99);
        checkpoint["cls.predictions.decoder.weight"] = checkpoint["embeddings.word_embeddings.weight"];
        checkpoint["cls.seq_relationship.weight"] = zeros(2, 32);

        using var target = CreateTiny("bert", numClasses: 3);
        var report = StateDictImporter.Import(target, checkpoint);

        report.HeadReinitialised.ShouldBeTrue();
        report.Messages.ShouldContain(m => m.Contains("4 checkpoint keys not used") && m.Contains("position_ids"));
        source.eval(); target.eval();
        var ids = Ids(2, 6);
        target.ForwardFeatures(ids).allclose(source.ForwardFeatures(ids), rtol: 0, atol: 0).ShouldBeTrue();
        target.call(ids).shape.ShouldBe([2L, 3L]);
    }

    /// <summary>A masked LM's checkpoint under a sequence classifier, as a run on the house BERT does: encoder copied,
    /// MLM head dropped, pooler and classifier started fresh, each said in the report.</summary>
    [Fact]
    public void Import_OfAMaskedLMCheckpoint_IntoTheClassifier_StartsThePoolerFresh_AndSaysSo()
    {
        using var scope = NewDisposeScope();
        using var mlm = CreateTiny("bert_mlm");
        var checkpoint = mlm.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        checkpoint.Keys.ShouldNotContain(k => k.Contains("pooler"));
        using var target = CreateTiny("bert", numClasses: 3);
        var poolerBefore = target.state_dict()["bert.pooler.dense.weight"].clone();

        var report = StateDictImporter.Import(target, checkpoint);

        report.HeadReinitialised.ShouldBeTrue();
        report.Messages.ShouldContain(m => m.StartsWith("2 keys under 'bert.pooler.' not in the checkpoint") && m.Contains("bert.pooler.dense.weight"));
        report.Messages.ShouldContain(m => m.Contains("checkpoint keys not used") && m.Contains("cls.predictions.transform.dense.weight"));
        target.state_dict()["bert.pooler.dense.weight"].allclose(poolerBefore, rtol: 0, atol: 0).ShouldBeTrue("the pooler keeps its fresh values");
        target.state_dict()["bert.encoder.layer.1.output.dense.weight"]
            .allclose(checkpoint["bert.encoder.layer.1.output.dense.weight"], rtol: 0, atol: 0).ShouldBeTrue("the encoder is the checkpoint's");
    }

    [Fact]
    public void Import_OfAPartlyMissingPooler_IsAnError_AndStrictRefusesAWhollyMissingOne()
    {
        using var scope = NewDisposeScope();
        using var source = CreateTiny("bert");
        var checkpoint = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        checkpoint.Remove("bert.pooler.dense.bias");
        using var target = CreateTiny("bert");
        Should.Throw<WeightsImportException>(() => StateDictImporter.Import(target, checkpoint)).Message.ShouldContain("bert.pooler.dense.bias");

        checkpoint.Remove("bert.pooler.dense.weight");
        Should.Throw<WeightsImportException>(() => StateDictImporter.Import(target, checkpoint, ImportOptions.Strict)).Message.ShouldContain("bert.pooler.dense.weight");
        StateDictImporter.Import(target, checkpoint).Messages.ShouldContain(m => m.Contains("under 'bert.pooler.'"));
    }

    [Fact]
    public void FineTuning_AMaskedLMOrABareEncoder_TrainsTheSequenceClassifier()
    {
        ArchitectureRegistry.Default.ForFineTuning("bert_mlm").Name.ShouldBe("bert");
        ArchitectureRegistry.Default.ForFineTuning("bert_encoder").Name.ShouldBe("bert");
        ArchitectureRegistry.Default.ForFineTuning("bert").Name.ShouldBe("bert");
        ArchitectureRegistry.Default.ForFineTuning("resnet18").Name.ShouldBe("resnet18");
    }

    [Fact]
    public void Import_RejectsAForeignKey_AndImportsNothing()
    {
        using var scope = NewDisposeScope();
        using var m = CreateTiny("bert_encoder");
        var checkpoint = m.state_dict().ToDictionary(kv => kv.Key, kv => zeros_like(kv.Value));
        checkpoint["encoder.layer.0.attention.self.rotary.weight"] = zeros(4);
        var before = m.state_dict()["pooler.dense.weight"].clone();
        Should.Throw<WeightsImportException>(() => StateDictImporter.Import(m, checkpoint)).Message.ShouldContain("rotary");
        m.state_dict()["pooler.dense.weight"].allclose(before, rtol: 0, atol: 0).ShouldBeTrue("nothing was imported");
    }

    [Theory]
    [InlineData("""{ "input_ids": [[1, 2]], "logits": [[0.5]] }""", null)]
    [InlineData("""{ "logits": [[0.5]] }""", "input_ids")]
    [InlineData("""{ "input_ids": [[1, 2], [3]], "logits": [[0.5]] }""", "equal length")]
    [InlineData("""{ "input_ids": [[1, 2]], "attention_mask": [[1, 1, 0]], "logits": [[0.5]] }""", "attentionMask")]
    [InlineData("""{ "input_ids": [[1.5, 2]], "logits": [[0.5]] }""", "whole number")]
    [InlineData("""[1, 2]""", "object")]
    public void TextParityIo_ReadsTheFixtureFormat_AndNamesWhatIsWrong(string json, string? problem)
    {
        var path = Path.Combine(Path.GetTempPath(), $"modelzoo-textio-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try
        {
            if (problem is null)
            {
                var io = TextParityIo.Load(path);
                io["input"].shape.ShouldBe([1L, 3L, 2L]);
                io["output"].shape.ShouldBe([1L, 1L]);
                foreach (var t in io.Values) t.Dispose();
            }
            else Should.Throw<WeightsFormatException>(() => TextParityIo.Load(path)).Message.ShouldContain(problem);
        }
        finally { File.Delete(path); }
    }
}

"The LLM area's training entry points resume exactly: a loop killed right after a checkpoint (mid-epoch too) ends with the same bits as one never killed."
import pytest, torch
from test_train import run_ckpts, _check_resume   # the fixture and the kill-and-resume check of tests/test_train.py
from trustbook.llm.tiny import tiny_gpt2, byte_tokenizer

TEXTS = ['the cat sat on the mat', 'a dog ran in the park', 'birds sing at dawn'] * 3   # 9 texts
PAIRS = [('colour of the sky: ', 'blue'), ('colour of grass: ', 'green'), ('2 + 2 = ', '4')] * 3


def test_causal_lm_on_texts_resumes_mid_epoch(run_ckpts, capfd):
    from trustbook.llm.train import train_causal_lm
    def train():
        m = tiny_gpt2(n_layer=1, n_embd=16, n_head=2, seed=0)
        return m, train_causal_lm(m, byte_tokenizer(), TEXTS, epochs=3, batch_size=4, lr=1e-2, warmup_steps=0, seed=5)
    _check_resume(run_ckpts, capfd, train, 4)   # 3 updates per epoch: killed inside the second epoch


def test_prompt_masked_lora_with_accumulation_resumes(run_ckpts, capfd):
    "instruction tuning's path: (prompt, response) pairs, LoRA on every linear layer, two passes per update, an incomplete last group."
    from trustbook.llm.train import tune_causal_lm
    def train():
        m, h = tune_causal_lm(tiny_gpt2(n_layer=1, n_embd=16, n_head=2, seed=0), byte_tokenizer(), PAIRS, lora=dict(r=2, alpha=4, target_modules='all-linear'),
                              epochs=2, batch_size=2, grad_accum=2, lr=1e-2, warmup_steps=0, seed=6)
        return m, h
    _check_resume(run_ckpts, capfd, train, 2)


def test_instruction_finetune_resumes(run_ckpts, capfd):
    from trustbook.llm.instruct import instruction_finetune
    ex = [dict(instruction='colour of the sky', input='', output='blue'), dict(instruction='colour of grass', input='', output='green')] * 3
    def train():
        return instruction_finetune(tiny_gpt2(n_layer=1, n_embd=16, n_head=2, seed=0), byte_tokenizer(), ex, template='compact',
                                    method='full', epochs=3, batch_size=4, lr=1e-2, warmup_steps=0, seed=1)
    _check_resume(run_ckpts, capfd, train, 3)


def test_fsd_pretraining_with_its_stopping_rule_resumes(run_ckpts, capfd):
    "The memorisation-gap callback reads the model after every epoch; a resumed run stops at the same epoch with the same records."
    from trustbook.llm.fsd import tiny_pretrained
    from trustbook.llm.tiny import topic_chunks, pydoc_topics, membership_splits
    sp = membership_splits(topic_chunks(pydoc_topics(), 150), seed=0, n_members=24, n_test=8, n_ft=4, n_val=8)
    def train():
        m, _, h = tiny_pretrained(sp, 0, dict(n_layer=1, n_embd=16, n_head=2), batch_size=8, max_epochs=4, target_gap=1e9, cache=False)
        return m, h
    with pytest.warns(UserWarning, match='max_epochs'): _check_resume(run_ckpts, capfd, train, 5)


def test_chinesesafe_judge_resumes(run_ckpts, capfd):
    from trustbook.llm.chinesesafe import train_tiny_judge, load_sample
    s = load_sample().iloc[::4]
    def train():
        m, tok = train_tiny_judge(list(s.text), list(s.label), epochs=3, batch_size=8, n_layer=1, n_embd=16, cache=False)
        return m, sorted(tok.get_vocab().items())
    _check_resume(run_ckpts, capfd, train, 3)

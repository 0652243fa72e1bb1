"""Self-checks for the exercises of lessons 4-6 and 8 (advanced training, training loop, learning curves, using the model).

Each check prints one line, the same verdict as lessons 1-3's checks (course_utils.exercises), in the
learner's language, and returns True or False. A check never raises and never prints the answer: an
unsolved exercise (a ``None`` left in place, a function that still raises ``NotImplementedError``) is
simply "not yet".
"""
from __future__ import annotations

import math

from .exercises import run_learner as _call
from .exercises import say as _say


# ---- lesson 4 -------------------------------------------------------------------------------------------

def check_effective_batch(training_args, target: int = 32, devices: int = 2, fits: int = 8) -> bool:
    """TrainingArguments for an effective batch of ``target`` on ``devices`` GPUs that hold ``fits`` each."""
    if training_args is None:
        return _say(False, "build `my_args = TrainingArguments(...)` first.",
                    "먼저 `my_args = TrainingArguments(...)`를 만드세요.")
    batch = getattr(training_args, "per_device_train_batch_size", None)
    steps = getattr(training_args, "gradient_accumulation_steps", None)
    if not isinstance(batch, int) or not isinstance(steps, int):
        return _say(False, "`my_args` should be a TrainingArguments object.",
                    "`my_args`는 TrainingArguments 객체여야 합니다.")
    if batch > fits:
        return _say(False, f"{batch} examples per device do not fit: each GPU holds at most {fits}.",
                    f"장치당 예제 {batch}개는 들어가지 않습니다. GPU 하나에 최대 {fits}개가 들어갑니다.")
    effective = batch * steps * devices
    if effective != target:
        return _say(False, f"{batch} x {steps} x {devices} devices = {effective}, not {target}.",
                    f"{batch} x {steps} x 장치 {devices}개 = {effective}개입니다. {target}개가 되어야 합니다.")
    # Any split with the right product is the same update; the fastest fills each device: the largest
    # per-device batch that fits and divides the per-device share, so the fewest accumulation passes.
    fullest = max(b for b in range(1, fits + 1) if (target // devices) % b == 0)
    if batch < fullest:
        return _say(False, f"{batch} x {steps} x {devices} = {target}, the right effective batch, but each GPU could "
                           f"take {fullest} examples per pass: fuller micro-batches give the same update with fewer "
                           f"accumulation passes, which is faster.",
                    f"{batch} x {steps} x {devices} = {target}: 유효 배치 크기는 맞지만, GPU마다 한 번에 예제를 "
                    f"{fullest}개까지 넣을 수 있습니다. 마이크로배치를 더 채우면 같은 업데이트를 더 적은 누적 횟수로 "
                    f"계산하므로 더 빠릅니다.")
    return _say(True, f"{batch} x {steps} x {devices} = {target} examples per optimizer step.",
                f"옵티마이저 스텝마다 예제 {batch} x {steps} x {devices} = {target}개입니다.")


def check_constant_with_warmup(rates, learning_rate: float = 2e-5, steps: int = 100, warmup: int = 10) -> bool:
    """The learning rates of a constant schedule with ``warmup`` warmup steps, one per training step."""
    if rates is None:
        return _say(False, "fill `my_rates` with one learning rate per step.",
                    "`my_rates`에 스텝마다 학습률을 하나씩 채우세요.")
    rates = [float(r) for r in rates]
    if len(rates) != steps:
        return _say(False, f"{len(rates)} learning rates, one per step of {steps} expected.",
                    f"학습률이 {len(rates)}개입니다. 스텝마다 하나씩, 모두 {steps}개여야 합니다.")
    if rates[0] != 0.0:
        return _say(False, "a warmup starts from 0.", "워밍업은 0에서 시작합니다.")
    rising = all(a < b for a, b in zip(rates[:warmup], rates[1:warmup + 1]))
    flat = all(math.isclose(r, learning_rate, rel_tol=1e-6) for r in rates[warmup:])
    if not rising:
        return _say(False, f"the first {warmup} steps should climb step by step.",
                    f"처음 {warmup} 스텝 동안 학습률이 스텝마다 올라가야 합니다.")
    if not flat:
        return _say(False, f"after the warmup the rate should stay at {learning_rate} to the end.",
                    f"워밍업 뒤에는 끝까지 {learning_rate}에 머물러야 합니다.")
    return _say(True, "a warmup, then a constant learning rate.", "워밍업 뒤에 학습률이 일정합니다.")


# ---- lesson 5 -------------------------------------------------------------------------------------------

def check_evaluate_loss(function, model, dataloader, device) -> bool:
    """``function(model, dataloader, device)`` must return the mean validation loss, without gradients."""
    import torch

    for parameter in model.parameters():
        parameter.grad = None
    model.train()
    result, error = _call(function, model, dataloader, device)
    if error:
        return _say(False, f"`evaluate_loss` raised {error}.", f"`evaluate_loss`에서 {error} 오류가 났습니다.")
    if torch.is_tensor(result):
        return _say(False, "you returned a tensor: return a Python float (turn a one-element tensor into one with "
                           "`.item()`).",
                    "텐서를 돌려주었습니다. 파이썬 float를 돌려주세요(원소가 하나인 텐서는 `.item()`으로 바꿉니다).")
    if isinstance(result, bool) or not isinstance(result, (float, int)):
        return _say(False, "return one number (a Python float: use `.item()`).",
                    "숫자 하나를 돌려주세요(파이썬 float: `.item()`을 쓰세요).")
    if any(p.grad is not None for p in model.parameters()):
        return _say(False, "gradients were computed: evaluate under `torch.no_grad()`.",
                    "그레이디언트가 계산되었습니다. `torch.no_grad()` 안에서 평가하세요.")
    if model.training:
        return _say(False, "the model is still in training mode: call `model.eval()`.",
                    "모델이 아직 훈련 모드입니다. `model.eval()`을 호출하세요.")
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in dataloader:
            batch = {name: tensor.to(device) for name, tensor in batch.items()}
            total += model(**batch).loss.item() * len(batch["labels"])
            count += len(batch["labels"])
    expected = total / count
    if not math.isclose(float(result), expected, rel_tol=1e-4, abs_tol=1e-6):
        return _say(False, "the number differs from the mean loss over all validation examples "
                           "(weight each batch by its size: the last batch can be smaller).",
                    "검증 예제 전체의 평균 손실과 다릅니다(마지막 배치는 더 작을 수 있으니 배치마다 크기로 가중하세요).")
    # Every validation set of the lesson (408, 120, 32 pairs) splits into full batches of 8, where the plain mean of
    # the batch means is right by accident. Ask again on data whose last batch is short.
    short = _short_last_batch(dataloader)
    if short is not None:
        model.train()
        result, error = _call(function, model, short, device)
        if error:
            return _say(False, f"`evaluate_loss` raised {error} on a dataloader whose last batch is smaller.",
                        f"마지막 배치가 더 작은 데이터로더에서 `evaluate_loss`가 {error} 오류를 냈습니다.")
        model.eval()
        with torch.no_grad():
            losses = [(model(**{name: tensor.to(device) for name, tensor in batch.items()}).loss.item(),
                       len(batch["labels"])) for batch in short]
        expected = sum(loss * size for loss, size in losses) / sum(size for _, size in losses)
        try:
            right = math.isclose(float(result), expected, rel_tol=1e-4, abs_tol=1e-6)
        except (TypeError, ValueError):
            right = False
        if not right:
            sizes = " + ".join(str(size) for _, size in losses)
            n = sum(size for _, size in losses)
            return _say(False, f"right on the validation set, whose batches are all full, but not on {n} examples in "
                               f"batches of {sizes}: the mean of the batch means gives the short last batch as much "
                               f"weight as a full one. Weight each batch's loss by its size.",
                        f"배치가 모두 가득 찬 검증 세트에서는 맞지만, 예제 {n}개를 {sizes}개씩 나눈 배치에서는 다릅니다. "
                        f"배치 평균들의 평균은 짧은 마지막 배치에도 가득 찬 배치와 같은 무게를 줍니다. 배치마다 손실에 "
                        f"배치 크기를 곱해 가중하세요.")
    return _say(True, "the mean validation loss, in eval mode, without gradients, also when the last batch is short.",
                "평가 모드에서 그레이디언트 없이 계산한 평균 검증 손실입니다. 마지막 배치가 짧아도 맞습니다.")


def _short_last_batch(dataloader):
    """The same data in batches whose last one is smaller than the others: a DataLoader (same collator, batch size)
    over the first ``batch_size + 1`` examples, or for a plain list of batches, its first batch and one example of
    the second. None when there are not enough examples (then no short batch can be made)."""
    dataset, batch_size = getattr(dataloader, "dataset", None), getattr(dataloader, "batch_size", None)
    if dataset is not None and batch_size:
        if len(dataset) <= batch_size:
            return None
        from torch.utils.data import DataLoader, Subset

        return DataLoader(Subset(dataset, range(batch_size + 1)), batch_size=batch_size,
                          collate_fn=dataloader.collate_fn)
    try:
        first, second = list(dataloader)[:2]
    except ValueError:  # fewer than two batches
        return None
    if len(first["labels"]) < 2:
        return None
    return [first, {name: tensor[:1] for name, tensor in second.items()}]


def check_launch_prediction(prediction, n_train: int, batch_size: int = 8, processes: int = 3) -> bool:
    """(batches per process per epoch, examples seen twice per epoch) with ``even_batches=True``."""
    if prediction is None:
        return _say(False, "write your prediction as `my_prediction = (batches_per_process, repeated_examples)`.",
                    "예상을 `my_prediction = (프로세스당_배치_수, 두_번_보는_예제_수)`로 적으세요.")
    try:
        per_process, repeated = (int(x) for x in prediction)
    except (TypeError, ValueError):
        return _say(False, "`my_prediction` should be two whole numbers.", "`my_prediction`은 정수 두 개여야 합니다.")
    batches = math.ceil(n_train / batch_size)
    expected_per_process = math.ceil(batches / processes)
    expected_repeated = expected_per_process * processes * batch_size - n_train
    wrong = []
    if per_process != expected_per_process:
        wrong.append(("the batches per process are off: count the batches of the whole set, then share them out",
                      "프로세스당 배치 수가 다릅니다. 먼저 전체 배치 수를 세고 나눠 보세요"))
    if repeated != expected_repeated:
        wrong.append(("the repeated examples are off: only a short last batch is filled up from the start of the data "
                      "(and a process still owed a batch gets a whole one from there); full batches repeat nothing",
                      "두 번 보는 예제 수가 다릅니다. 데이터 앞부분으로 채우는 것은 모자란 마지막 배치뿐입니다(배치를 하나 덜 "
                      "받은 프로세스는 거기서 배치 하나를 통째로 받습니다). 가득 찬 배치는 아무것도 반복하지 않습니다"))
    if wrong:
        return _say(False, "; ".join(en for en, _ in wrong) + ".", ". ".join(ko for _, ko in wrong) + ".")
    return _say(True, f"{per_process} batches per process, {repeated} examples seen twice.",
                f"프로세스마다 {per_process}배치, 두 번 보는 예제 {repeated}개입니다.")


def check_accumulated_update(function, model, batch, micro_batch_size: int = 2, max_norm: float | None = None) -> bool:
    """``function(model, micro_batches, optimizer)`` must make one optimizer step whose gradient is that of the mean
    loss over all examples of the equal-sized ``micro_batches``: the gradient of one batch made of them.

    Run twice on a copy of ``model`` with every dropout probability set to 0 (so the same examples give the same
    gradient in either mode), with an optimizer that records the gradients it is asked to step with and moves nothing.

    With ``max_norm``, also ``function(model, micro_batches, optimizer, max_norm=...)``: the step's gradient must be
    the accumulated one clipped once, as ``torch.nn.utils.clip_grad_norm_`` clips, over all parameters together. The
    check asks with ``max_norm`` and, unless that already clips hard, with a quarter of the gradient's norm as well, so
    that clipping after every micro-batch shows whatever state the model is in.
    """
    import copy

    import torch

    k = len(batch["labels"]) // micro_batch_size
    n = k * micro_batch_size
    micro_batches = [{name: tensor[i * micro_batch_size:(i + 1) * micro_batch_size] for name, tensor in batch.items()}
                     for i in range(k)]
    trial = copy.deepcopy(model)
    for module in trial.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    trainable = [p for p in trial.parameters() if p.requires_grad]
    watched = trainable[-4:]  # the head and the pooler: every example's loss reaches them

    def gradient(loss):
        grads = torch.autograd.grad(loss, watched)
        return torch.cat([g.detach().flatten().double() for g in grads])

    whole = gradient(trial(**{name: tensor[:n] for name, tensor in batch.items()}).loss)  # one batch of n
    last = gradient(trial(**micro_batches[-1]).loss)  # the last micro-batch alone

    class _Recorder(torch.optim.SGD):  # learning rate 0: records the gradients of each step, changes no weight
        def __init__(self, params):
            super().__init__(params, lr=0.0)
            self.seen = []

        def step(self, closure=None):
            self.seen.append(torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).detach().flatten()
                                        .double() for p in watched]))
            return super().step(closure)

    forwards = []
    hook = trial.register_forward_pre_hook(lambda *_: forwards.append(1))
    close = lambda a, b: bool((a - b).norm() <= 1e-3 * b.norm())  # noqa: E731 - float32 sums in another order

    def one_update(learner):
        """(the gradient of the one step taken, None) or (None, the verdict that ends the check)."""
        optimizer = _Recorder(trainable)
        forwards.clear()
        _, error = _call(learner, trial, [dict(mb) for mb in micro_batches], optimizer)
        if error:
            return None, _say(False, f"`accumulated_update` raised {error}.",
                              f"`accumulated_update`에서 {error} 오류가 났습니다.")
        if len(forwards) == 1 and k > 1:
            return None, _say(False, "one forward pass over all the examples at once is not accumulation: run the "
                                     "model on each micro-batch in turn (one forward and one backward pass each), "
                                     "which is what keeps the memory down to one micro-batch's.",
                              "예제 전체를 순전파 한 번에 넣는 것은 누적이 아닙니다. 마이크로배치마다 차례로 모델을 "
                              "실행하세요(순전파와 역전파를 한 번씩). 그래야 메모리가 마이크로배치 하나 분량으로 "
                              "줄어듭니다.")
        if len(forwards) != k:
            return None, _say(False, f"the model ran {len(forwards)} times for {k} micro-batches: run it once on "
                                     f"each.",
                              f"마이크로배치 {k}개에 모델이 {len(forwards)}번 실행되었습니다. 마이크로배치마다 한 번씩 "
                              f"실행하세요.")
        if not optimizer.seen:
            return None, _say(False, "no optimizer step was taken: call `optimizer.step()` once, after the backward "
                                     "pass of the last micro-batch.",
                              "옵티마이저 스텝이 없습니다. 마지막 마이크로배치의 역전파가 끝난 뒤 `optimizer.step()`을 "
                              "한 번 부르세요.")
        if len(optimizer.seen) > 1:
            return None, _say(False, f"`optimizer.step()` ran {len(optimizer.seen)} times for {k} micro-batches: "
                                     f"accumulate the gradients of all of them, then step once.",
                              f"마이크로배치 {k}개에 `optimizer.step()`이 {len(optimizer.seen)}번 실행되었습니다. 모든 "
                              f"마이크로배치의 그레이디언트를 누적한 다음 스텝을 한 번만 하세요.")
        return optimizer.seen[0], None

    try:
        for call in (1, 2):
            if call == 1:  # the second call starts from whatever the first one left in .grad
                trial.zero_grad(set_to_none=True)
            stepped, verdict = one_update(function)
            if verdict is not None:
                return verdict
            if close(stepped, whole):
                continue
            if call == 2 and close(stepped, 2 * whole):
                return _say(False, "right the first time, but the second call stepped with the first call's gradient "
                                   "still added in: zero the gradients once per optimizer step "
                                   "(`optimizer.zero_grad()` after the step, as the loop does).",
                            "첫 호출은 맞지만, 두 번째 호출의 스텝에는 첫 호출의 그레이디언트가 그대로 더해져 있었습니다. "
                            "옵티마이저 스텝마다 그레이디언트를 한 번 0으로 만드세요(루프처럼 스텝 뒤에 "
                            "`optimizer.zero_grad()`).")
            if close(stepped, k * whole):
                return _say(False, f"the step used {k} times the gradient of one batch of {n}: each micro-batch loss "
                                   f"is already a mean over its {micro_batch_size} examples, so the sum of {k} of "
                                   f"them is {k} times the mean over all {n}. Divide each loss by the number of "
                                   f"micro-batches before `backward()`.",
                            f"스텝에 쓰인 그레이디언트가 예제 {n}개짜리 배치 하나의 {k}배입니다. 마이크로배치 손실은 이미 "
                            f"예제 {micro_batch_size}개의 평균이므로, {k}개를 더하면 예제 {n}개 전체 평균의 {k}배가 "
                            f"됩니다. `backward()` 전에 손실마다 마이크로배치 수로 나누세요.")
            if close(stepped, last) or close(stepped, last / k):
                return _say(False, "only the last micro-batch's gradient reached the step: `backward()` adds to "
                                   "`.grad`, and zeroing the gradients inside the loop throws the earlier "
                                   "micro-batches away. Zero them once per optimizer step.",
                            "마지막 마이크로배치의 그레이디언트만 스텝에 쓰였습니다. `backward()`는 `.grad`에 더하는데, "
                            "루프 안에서 그레이디언트를 0으로 만들면 앞의 마이크로배치 것이 버려집니다. 그레이디언트는 "
                            "옵티마이저 스텝마다 한 번만 0으로 만드세요.")
            return _say(False, f"the step's gradient is not that of the mean loss over all {n} examples, the "
                               f"gradient one batch made of the {k} micro-batches would give.",
                        f"스텝에 쓰인 그레이디언트가 예제 {n}개 전체의 평균 손실 그레이디언트, 즉 마이크로배치 {k}개를 합친 "
                        f"배치 하나가 줄 그레이디언트와 다릅니다.")
        if max_norm is not None:
            return _check_clipped_update(function, trial, micro_batches, trainable, watched, one_update, close,
                                         max_norm, n, k, micro_batch_size)
    finally:
        hook.remove()
    return _say(True, f"one step with the gradient of the mean loss over all {n} examples, from {k} micro-batches of "
                      f"{micro_batch_size}, twice in a row.",
                f"마이크로배치 {k}개({micro_batch_size}개씩)로 예제 {n}개 전체의 평균 손실 그레이디언트를 만들어 스텝을 한 번 "
                f"했습니다. 두 번 연달아 호출해도 맞습니다.")


def _check_clipped_update(function, trial, micro_batches, trainable, watched, one_update, close, max_norm: float,
                          n: int, k: int, micro_batch_size: int) -> bool:
    """The clipping part of ``check_accumulated_update``: ``function(..., max_norm=c)`` must step with the accumulated
    gradient g scaled by min(1, c / (‖g‖ + 1e-6)), ‖g‖ the norm over all parameters together, as
    ``torch.nn.utils.clip_grad_norm_`` computes it (the 1e-6 guards against dividing by zero)."""
    import inspect

    import torch

    try:
        parameters = inspect.signature(function).parameters.values()
        takes_max_norm = any(p.name == "max_norm" or p.kind is p.VAR_KEYWORD for p in parameters)
    except (TypeError, ValueError):
        takes_max_norm = True  # no signature to read: let the call say
    if not takes_max_norm:
        return _say(False, "accumulation is right; for clipping, give your function a parameter `max_norm=None` and "
                           "clip when it is a number.",
                    "누적은 맞습니다. 클리핑은 함수에 매개변수 `max_norm=None`을 더하고, 숫자가 들어오면 클리핑하세요.")
    # Every gradient below is a sum of the micro-batches' shares g_j (the gradient of loss_j / K), so it is enough to
    # know the shares' inner products over all parameters (a K x K matrix) and their watched parts: no full-size
    # gradient is kept, whatever the model's size.
    count = len(micro_batches)
    flat_shares, watched_shares = [], []
    for micro_batch in micro_batches:
        grads = torch.autograd.grad(trial(**micro_batch).loss / count, trainable)
        flat_shares.append(torch.cat([g.detach().flatten() for g in grads]))
        watched_shares.append([g.detach().double() for g in grads[-len(watched):]])
    gram = torch.tensor([[float(torch.dot(a, b)) for b in flat_shares] for a in flat_shares],
                        dtype=torch.float64)  # gram[i, j] = <g_i, g_j> over all parameters together
    del flat_shares

    def norm(weights):  # the norm of sum_j weights[j] g_j over all parameters
        return float(torch.sqrt(torch.clamp(weights @ gram @ weights, min=0.0)))

    def watched_part(weights):  # the watched parameters' part of sum_j weights[j] g_j, one tensor per parameter
        return [sum(w * share[i] for w, share in zip(weights.tolist(), watched_shares)) for i in range(len(watched))]

    def flat(tensors):
        return torch.cat([t.flatten() for t in tensors])

    ones = torch.ones(count, dtype=torch.float64)
    total = norm(ones)  # the accumulated gradient's norm
    whole = watched_part(ones)
    limits = [float(max_norm)] + ([total / 4] if max_norm > total / 4 else [])  # the second one surely clips
    for c in limits:
        expected = flat(watched_part(ones * min(1.0, c / (total + 1e-6))))
        running = torch.zeros(count, dtype=torch.float64)  # clipped after every micro-batch's backward
        for j in range(count):
            running[j] += 1.0
            running *= min(1.0, c / (norm(running) + 1e-6))
        each_parameter = flat([g * min(1.0, c / (g.norm().item() + 1e-6)) for g in whole])
        trial.zero_grad(set_to_none=True)
        stepped, verdict = one_update(lambda *args, c=c: function(*args, max_norm=c))
        if verdict is not None:
            return verdict
        if close(stepped, expected):
            continue
        at = f"with `max_norm={c:.4g}` (the accumulated gradient's norm is {total:.4g})"
        at_ko = f"`max_norm={c:.4g}`일 때(누적된 그레이디언트의 노름은 {total:.4g})"
        if close(stepped, flat(watched_part(running))):
            return _say(False, f"{at} the gradient was clipped after every micro-batch: each clip shrinks the part "
                               f"summed so far, so the earlier micro-batches count less than the later ones. Clip "
                               f"once per update, after the last micro-batch's `backward()` and before "
                               f"`optimizer.step()`.",
                        f"{at_ko} 마이크로배치마다 그레이디언트를 클리핑했습니다. 클리핑할 때마다 그때까지 더한 몫이 "
                        f"줄어들어, 앞의 마이크로배치가 뒤의 것보다 덜 반영됩니다. 클리핑은 업데이트마다 한 번, 마지막 "
                        f"마이크로배치의 `backward()` 뒤, `optimizer.step()` 앞에서 하세요.")
        if close(stepped, flat(whole)):
            return _say(False, f"{at} the step's gradient was not clipped: call `torch.nn.utils.clip_grad_norm_("
                               f"model.parameters(), max_norm)` after the last `backward()` and before "
                               f"`optimizer.step()`.",
                        f"{at_ko} 스텝에 쓰인 그레이디언트가 클리핑되지 않았습니다. 마지막 `backward()` 뒤, "
                        f"`optimizer.step()` 앞에서 `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)`을 "
                        f"부르세요.")
        if close(stepped, each_parameter) or close(stepped, flat(whole).clamp(-c, c)):
            return _say(False, f"{at} the gradient was not clipped by the norm of all parameters together (each "
                               f"parameter on its own, or each number with `clip_grad_value_`): pass "
                               f"`model.parameters()` to one `clip_grad_norm_` call.",
                        f"{at_ko} 모든 파라미터를 합친 노름으로 클리핑하지 않았습니다(파라미터마다 따로, 또는 "
                        f"`clip_grad_value_`로 숫자마다). `model.parameters()`를 `clip_grad_norm_` 한 번에 넘기세요.")
        return _say(False, f"{at} the step's gradient is not the accumulated gradient clipped once to norm "
                           f"`max_norm`.",
                    f"{at_ko} 스텝에 쓰인 그레이디언트가, 누적된 그레이디언트를 노름 `max_norm`으로 한 번 클리핑한 "
                    f"것과 다릅니다.")
    trial.zero_grad(set_to_none=True)
    return _say(True, f"one step with the gradient of the mean loss over all {n} examples, from {k} micro-batches of "
                      f"{micro_batch_size}, twice in a row, and clipped once per update "
                      f"(`max_norm` {' and '.join(f'{c:.4g}' for c in limits)}).",
                f"마이크로배치 {k}개({micro_batch_size}개씩)로 예제 {n}개 전체의 평균 손실 그레이디언트를 만들어 스텝을 한 번 "
                f"했고, 두 번 연달아 호출해도 맞으며, 업데이트마다 한 번 클리핑했습니다(`max_norm` "
                f"{', '.join(f'{c:.4g}' for c in limits)}).")


# ---- lesson 6 -------------------------------------------------------------------------------------------

def _reference_best(log_history, metric: str, greater_is_better: bool):
    rows = [row for row in log_history if metric in row]
    if not rows:
        return None
    best = (max if greater_is_better else min)(rows, key=lambda row: row[metric])
    return best["epoch"]


def check_best_epoch(function, log_history) -> bool:
    """``function(log_history, metric, greater_is_better)`` must return the epoch of the best evaluation."""
    synthetic = [{"loss": 0.6, "epoch": 1.0}, {"eval_loss": 0.50, "eval_f1": 0.70, "epoch": 1.0},
                 {"eval_loss": 0.40, "eval_f1": 0.75, "epoch": 2.0}, {"eval_loss": 0.45, "eval_f1": 0.80, "epoch": 3.0},
                 {"train_loss": 0.5, "epoch": 3.0}]
    cases = [(synthetic, "eval_loss", False), (synthetic, "eval_f1", True), (log_history, "eval_loss", False)]
    for history, metric, greater in cases:
        result, error = _call(function, history, metric, greater)
        if error:
            return _say(False, f"`best_epoch` raised {error}.", f"`best_epoch`에서 {error} 오류가 났습니다.")
        expected = _reference_best(history, metric, greater)
        if result != expected:
            direction = ("higher is better" if greater else "lower is better")
            return _say(False, f"wrong epoch for {metric} ({direction}); skip the log rows that lack {metric}.",
                        f"{metric} 기준으로 가장 좋은 에폭이 아닙니다({'높을수록' if greater else '낮을수록'} 좋습니다). "
                        f"{metric} 값이 없는 로그 행은 건너뛰세요.")
    return _say(True, "the best epoch for a loss and for F1, also on the overfitting run's log.",
                "손실과 F1 모두, 과적합 실행의 로그에서도 가장 좋은 에폭을 찾았습니다.")


# The folders lesson 6's own runs write: a new run that reuses one overwrites that run's checkpoints and logs.
LESSON6_RUN_FOLDERS = ("curves_trainer", "overfit_trainer", "frozen_body_trainer", "tiny_lr_trainer",
                       "early_stopping_trainer", "erratic_trainer")


def check_best_model_args(training_args, metric: str = "eval_loss", greater_is_better: bool = False,
                          taken=LESSON6_RUN_FOLDERS) -> bool:
    """TrainingArguments that evaluate and save each epoch and keep the checkpoint best on ``metric``, written to a
    folder of their own (not one of ``taken``, the output folders of runs already made)."""
    from pathlib import Path

    if training_args is None:
        return _say(False, "build the TrainingArguments first.", "먼저 TrainingArguments를 만드세요.")
    args = training_args
    if not hasattr(args, "load_best_model_at_end"):
        return _say(False, "this should be a TrainingArguments object.", "TrainingArguments 객체여야 합니다.")
    folder = Path(str(getattr(args, "output_dir", None) or "trainer_output"))
    if any(folder.name == Path(str(used)).name for used in taken):
        return _say(False, f"the output folder {str(folder)!r} belongs to an earlier run of the lesson: training there "
                           f"would overwrite or delete that run's checkpoints (`save_total_limit` counts every "
                           f"`checkpoint-*` folder it finds). Give this run a folder of its own (the first argument "
                           f"of TrainingArguments).",
                    f"출력 폴더({str(folder)!r})는 이 강의의 앞선 훈련이 쓴 폴더입니다. 여기서 훈련하면 그 훈련의 "
                    f"체크포인트를 덮어쓰거나 지웁니다(`save_total_limit`은 폴더에 있는 `checkpoint-*` 폴더를 모두 "
                    f"셉니다). 이 훈련에는 전용 폴더를 주세요(TrainingArguments의 첫 번째 인수).")
    if not args.load_best_model_at_end:
        return _say(False, "the best checkpoint is reloaded only with `load_best_model_at_end=True`.",
                    "가장 좋은 체크포인트는 `load_best_model_at_end=True`일 때만 다시 불러옵니다.")
    bare = lambda name: (name or "").removeprefix("eval_")  # noqa: E731 - the Trainer adds "eval_" itself
    if bare(args.metric_for_best_model) != bare(metric):
        return _say(False, f"`metric_for_best_model` watches {args.metric_for_best_model!r}, not the metric asked for.",
                    f"`metric_for_best_model`이 지켜보는 메트릭({args.metric_for_best_model!r})은 요청한 메트릭이 아닙니다.")
    if args.greater_is_better is not greater_is_better:
        return _say(False, "check which direction is better for this metric (`greater_is_better`).",
                    "이 메트릭은 클수록 좋은지 작을수록 좋은지 확인하세요(`greater_is_better`).")
    strategy = lambda value: getattr(value, "value", value)  # noqa: E731 - an enum or a string
    if strategy(args.eval_strategy) != "epoch" or strategy(args.save_strategy) != "epoch":
        return _say(False, "evaluate and save once per epoch (`eval_strategy` and `save_strategy`).",
                    "에폭마다 평가하고 저장하세요(`eval_strategy`와 `save_strategy`).")
    return _say(True, f"these arguments keep the epoch with the best {bare(metric)}.",
                f"이 인수로 {bare(metric)} 값이 가장 좋은 에폭을 남깁니다.")


# ---- lesson 8 -------------------------------------------------------------------------------------------

_TEST_PAIRS = [("The storm closed the airport on Monday.", "On Monday the airport was shut by the storm."),
               ("She sold her car last week.", "The museum opens at nine."),
               ("Prices fell in March.", "In March, prices went down.")]


class _RecordingPipeline:
    """Passes every call on to the pipeline and remembers what it was given."""

    def __init__(self, pipe):
        self.pipe, self.inputs = pipe, []

    def __call__(self, inputs, **kwargs):
        self.inputs += inputs if isinstance(inputs, list) else [inputs]
        return self.pipe(inputs, **kwargs)


def check_label_pairs(label_pairs, classifier, model, tokenizer) -> bool:
    """``label_pairs(classifier, pairs)`` returns one label name per (sentence1, sentence2) pair, in order,
    from the pipeline it is given, called with real sentence pairs; compared with the model's own predictions."""
    import torch

    recorder = _RecordingPipeline(classifier)
    got, error = _call(label_pairs, recorder, _TEST_PAIRS)
    if error:
        return _say(False, f"label_pairs raised {error}.", f"label_pairs가 {error} 오류를 냈습니다.")
    if got is None:
        return _say(False, "label_pairs returns None; call the pipeline and return what you found.",
                    "label_pairs가 None을 돌려줍니다. 파이프라인을 호출하고 결과를 돌려주세요.")
    if not recorder.inputs:
        return _say(False, "label_pairs did not call the pipeline it was given (its first argument).",
                    "label_pairs가 인수로 받은 파이프라인(첫 번째 인수)을 호출하지 않았습니다.")
    given = [(x.get("text"), x.get("text_pair")) if isinstance(x, dict) else x for x in recorder.inputs]
    if sorted(map(str, given)) != sorted(map(str, _TEST_PAIRS)):
        return _say(False, 'the pipeline did not receive the pairs as pairs; pass each one as '
                           '{"text": ..., "text_pair": ...}.',
                    '파이프라인이 문장 쌍을 받지 못했습니다. 각 쌍을 {"text": ..., "text_pair": ...} 형태로 넘기세요.')
    if not isinstance(got, list) or not all(isinstance(label, str) for label in got):
        return _say(False, "return a list of label names (strings), one per pair.",
                    "레이블 이름(문자열)의 리스트를 돌려주세요.")
    expected = []
    for s1, s2 in _TEST_PAIRS:
        inputs = tokenizer(s1, s2, return_tensors="pt").to(model.device)
        with torch.no_grad():
            expected.append(model.config.id2label[int(model(**inputs).logits.argmax(-1))])
    if got != expected:
        return _say(False, "some labels differ from the model's own predictions; are they in the order of the pairs?",
                    "모델 자신의 예측과 다른 레이블이 있습니다. 쌍의 순서대로 레이블을 돌려주고 있나요?")
    return _say(True, "all three labels match the model's own predictions.", "세 쌍 모두 모델의 예측과 같습니다.")


def check_fourth_class(csv_path, model) -> bool:
    """The CSV on disk has a fourth label with at least 10 examples each, and ``model`` was trained on its labels."""
    import csv

    with open(csv_path, encoding="utf-8") as handle:
        counts: dict[str, int] = {}
        for row in csv.DictReader(handle):
            counts[row["label"]] = counts.get(row["label"], 0) + 1
    if len(counts) < 4:
        return _say(False, f"the CSV has {len(counts)} labels; add a fourth label to `messages` and rerun section 7.",
                    f"CSV에 레이블이 {len(counts)}개뿐입니다. messages에 네 번째 레이블을 더하고 7절을 다시 실행하세요.")
    few = sorted(label for label, n in counts.items() if n < 10)
    if few:
        return _say(False, f"give every label at least 10 examples; too few for {few}.",
                    f"예제가 10개보다 적은 레이블이 있습니다: {few}")
    trained = sorted(model.config.id2label.values())
    if trained != sorted(counts):
        return _say(False, f"the model knows {trained}, not the CSV's labels; rerun from writing the CSV to training.",
                    f"모델이 아는 레이블({trained})이 CSV의 레이블과 다릅니다. CSV를 쓴 셀부터 훈련까지 다시 실행하세요.")
    return _say(True, f"the model was fine-tuned on {len(counts)} labels; try the pipeline on a message of the new one.",
                f"레이블 {len(counts)}개로 미세 조정한 모델입니다. 새 레이블의 메시지로 파이프라인을 시험해 보세요.")
